"""The window's commands for rating a cache with several raters, declared once
(:data:`RATER_ACTIONS`, in the Trace menu and the shortcut help) and carried out by
:class:`RaterCommands`:

* "Rate as <name>…" (checkable): reopen the cache in rater mode as a rater the person
  names (remembered in the settings), or, unchecked, as the plain cache again. A cache
  already rated by raters always opens in rater mode, so it cannot be unchecked there.
* "Reveal other raters" (checkable): show the other raters' values of each trace beside
  one's own, which blind review hides until one has finished.
* "Finish rating": mark one's rating finished (the others are shown from then on).
* "Adjudicate disagreements…": the adjudication window (:mod:`.adjudication`), recording
  each consensus in the adjudicator's name (the rater's).

What rater mode is, and what it writes, is :mod:`.rater_session`'s.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PyQt6.QtCore import QObject, Qt
from PyQt6.QtWidgets import QInputDialog, QLineEdit

from tracemark.io_backends.errors import TracemarkError
from tracemark.widgets.actions import ActionSet, ActionSpec

if TYPE_CHECKING:
    from .adjudication import Adjudication

MENU = "Trace"

RATER_ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec("rate_as", MENU, "Rate as…", (),
               "Rate this cache as one of several raters: your own values, in your own journal",
               checkable=True, separator_before=True),
    ActionSpec("reveal_raters", MENU, "Reveal other raters", (),
               "Show the other raters' values of each trace (hidden until you finish)",
               checkable=True),
    ActionSpec("finish_rating", MENU, "Finish rating", (),
               "Mark your rating finished; the other raters' values are shown from then on"),
    ActionSpec("adjudicate", MENU, "Adjudicate disagreements…", (),
               "Step through the traces the raters disagree on and record a consensus"),
)


class RaterCommands(QObject):
    """The rater commands of one main window (see the module docstring)."""

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.adjudication: Adjudication | None = None
        self.last_dialog: QInputDialog | None = None
        handlers: dict[str, Callable[..., Any]] = {"rate_as": self.rate_as, "reveal_raters": self.reveal,
                    "finish_rating": self.finish, "adjudicate": self.adjudicate}
        self.actions = ActionSet(window, RATER_ACTIONS, handlers,
                                 context=Qt.ShortcutContext.WindowShortcut)
        menu = window.menus[MENU]
        for spec in RATER_ACTIONS:
            if spec.separator_before and not menu.isEmpty():
                menu.addSeparator()
            menu.addAction(self.actions[spec.name])
        self.update()

    @property
    def session(self):
        return self.window.workspace.session

    @property
    def rater(self):
        session = self.session
        return None if session is None else session.rater

    def chosen_name(self) -> str:
        """The name the next "Rate as" offers: the rater now, else the one chosen here,
        else the settings' (the operating-system user by default)."""
        rater = self.rater
        if rater is not None:
            return rater.name
        return self.window.opener.rater or self.window.settings.rater()

    def update(self) -> None:
        """Each action's text, check mark and availability for what is open now."""
        rater, session = self.rater, self.session
        self._set_checked("rate_as", rater is not None)
        self._set_checked("reveal_raters", rater is not None and rater.revealed)
        self.actions["rate_as"].setText(f"Rate as {self.chosen_name()}…")
        self.actions["rate_as"].setEnabled(session is not None)
        self.actions["reveal_raters"].setEnabled(rater is not None)
        self.actions["finish_rating"].setEnabled(rater is not None and rater.writable and not rater.finished)
        self.actions["adjudicate"].setEnabled(rater is not None)
        if self.adjudication is not None and self.adjudication.session is not session:
            # Let go first: closing moves the focus, and the window updates again on that.
            adjudication, self.adjudication = self.adjudication, None
            adjudication.close()
            adjudication.deleteLater()

    def _set_checked(self, name: str, checked: bool) -> None:
        action = self.actions[name]
        if action.isChecked() != checked:
            action.blockSignals(True)   # reflecting the state is not asking for a change
            action.setChecked(checked)
            action.blockSignals(False)

    # -- rate as ------------------------------------------------------------------------------
    def rate_as(self, checked: bool) -> None:
        session = self.session
        if session is None or checked == (session.rater is not None):
            self.update()
            return
        if not checked:
            from .rater_session import has_raters  # noqa: PLC0415 (loads with a cache)

            if has_raters(session.path):
                self.update()
                self.window.set_status(f"{session.path.name} is rated by raters: it opens in "
                                       f"rater mode, as {session.rater.name}.")
                return
            self.window.opener.rater = None
            self._reopen()
            return
        dialog = QInputDialog(self.window)
        dialog.setObjectName("raterNameDialog")
        dialog.setWindowTitle("Rate as")
        dialog.setLabelText("Rate this cache as (your values are kept apart from the other raters'):")
        dialog.setTextEchoMode(QLineEdit.EchoMode.Normal)
        dialog.setTextValue(self.chosen_name())
        dialog.setWindowModality(Qt.WindowModality.WindowModal)
        dialog.textValueSelected.connect(self.rate_as_named)
        dialog.rejected.connect(self.update)
        self.last_dialog = dialog
        self.window.last_dialog = dialog
        dialog.open()

    def rate_as_named(self, name: str) -> None:
        """Reopen the open cache rated as ``name`` (remembered for next time)."""
        name = name.strip()
        if not name or self.session is None:
            self.update()
            return
        self.window.settings.set_rater(name)
        self.window.opener.rater = name
        self._reopen()

    def _reopen(self) -> None:
        path = self.session.path
        self.window.opener.close_cache()
        self.window.opener.open_cache(path)

    # -- blind review -----------------------------------------------------------------------------
    def reveal(self, checked: bool) -> None:
        rater = self.rater
        if rater is None:
            self.update()
            return
        rater.set_revealed(checked)
        self._redraw()
        self.window.set_status(rater.describe())

    def finish(self) -> None:
        rater = self.rater
        if rater is None:
            return
        try:
            rater.finish()
        except TracemarkError as error:
            self.window.show_error("Rating not marked finished", str(error))
            return
        self._redraw()
        self.update()
        self.window.set_status(rater.describe())

    def _redraw(self) -> None:
        """Show the trace again, and the agreement, as what this rater may see changed."""
        controller = self.window.controller
        if controller is not None and controller.current is not None:
            controller.show(controller.current)
        self.window.agreement.refresh()

    # -- adjudication -----------------------------------------------------------------------------
    def adjudicate(self) -> Adjudication | None:
        rater = self.rater
        if rater is None:
            return None
        if self.adjudication is None:
            from .adjudication import Adjudication  # noqa: PLC0415 (loads when asked for)

            self.adjudication = Adjudication(self.session, rater.name, self.window.show_error,
                                             self.window)
            self.adjudication.status.connect(self.window.set_status)
        try:
            self.adjudication.open()
        except TracemarkError as error:
            self.window.show_error("Cannot adjudicate", str(error))
        return self.adjudication
