"""Bad channels in the viewer: which rows they grey, the B key and the row-name menu that
mark a channel bad or good again, and what follows from a change.

The bad channels are part of the person's annotation file
(:attr:`tracemark.domain.annotations.AnnotationState.bad_channels`); the viewer holds the
ones shown in ``model.display.bad_channels`` (:meth:`SignalViewer.set_bad_channels`).
A change is computed with :func:`~tracemark.domain.annotations.set_channel_bad` and
committed through the viewer's annotation sink, the same one the marks go through, so it
is journaled, undoable and survives a crash like every mark; a read-only sink refuses,
saying why (:attr:`BadChannels.refused` and the viewer's ``annotation_error``). With no
sink the viewer only asks its host (:attr:`SignalViewer.channel_status_requested`).

What a bad channel changes:

* its row, and every montage row that names it (``Fp1-F7`` when Fp1 is bad), is drawn in
  a light grey with its name greyed and suffixed (:mod:`.axes`, :mod:`.signal_plot`);
* it is left out of the montage's average reference (``Montage.matrix(exclude=...)``):
  the viewer's montage key changes with the bad set, so pages and the overview summary
  are computed again with the new weights;
* it is left out of its channel type's measured first sensitivity
  (:meth:`.scales.AutomaticScales.set_excluded`) and of the "fit amplitudes" command.

The rows themselves stay, so a person sees what was left out and can mark it good again.
Widgets only: no file, no store.
"""

from __future__ import annotations

from PyQt6.QtCore import QObject, QPoint, pyqtSignal
from PyQt6.QtGui import QAction
from PyQt6.QtWidgets import QInputDialog, QMenu

from tracemark.domain.annotations import AnnotationError, set_channel_bad

from .rows import row_channels, rows_using


class BadChannels(QObject):
    """Keeps the viewer's bad rows in step with its bad channels and writes changes."""

    #: Why a change was not made (a read-only annotation file, a failed write).
    refused = pyqtSignal(str)
    #: The sink's state after a change of channel status was committed.
    committed = pyqtSignal(object)

    def __init__(self, viewer):
        super().__init__(viewer)
        self.viewer = viewer
        self.sink = None
        #: The last refusal's text (shown as a tooltip and sent with :attr:`refused`).
        self.last_refusal = ""
        #: The last row menu built (tests trigger its actions).
        self.last_menu: QMenu | None = None
        self._rows_key: tuple | None = None
        self._rows: frozenset[int] = frozenset()
        viewer.model.display.bad_channels_changed.connect(self._on_bad_channels)
        viewer.plot.row_menu_requested.connect(self.show_menu)

    # -- where the status comes from ----------------------------------------------------------
    def set_sink(self, sink) -> None:
        """Read and write channel status through ``sink`` (None: only ask the host)."""
        self.sink = sink
        self.refresh()

    def refresh(self) -> None:
        """Show the sink's bad channels again (after an undo, a redo, a followed change)."""
        self.viewer.set_bad_channels(self.sink.state.bad_channels if self.sink is not None else {})

    @property
    def channels(self) -> dict[str, str]:
        """Bad channel name -> reason, as shown."""
        return self.viewer.model.display.bad_channels

    # -- which rows ---------------------------------------------------------------------------
    def bad_rows(self) -> frozenset[int]:
        """The display rows of the current montage that a bad channel greys."""
        viewer = self.viewer
        source, montage = viewer.source, viewer.model.display.montage
        if source is None:
            return frozenset()
        bad = frozenset(self.channels)
        key = (source.identity, source.channel_names, montage, bad)
        if key != self._rows_key:
            self._rows = frozenset(rows_using(source, montage, bad))
            self._rows_key = key
        return self._rows

    def positions_of(self, rows) -> list[int]:
        """The positions among ``rows`` (drawn top to bottom) that are greyed."""
        bad = self.bad_rows()
        return [k for k, row in enumerate(rows) if row in bad]

    def channel_indexes(self) -> list[int]:
        """The bad channels' indexes among the source's channels (as recorded)."""
        source = self.viewer.source
        if source is None:
            return []
        bad = self.channels
        return [i for i, name in enumerate(source.channel_names) if name in bad]

    def channels_of_row(self, row: int) -> tuple[str, ...]:
        viewer = self.viewer
        if viewer.source is None or not 0 <= row < len(viewer.model.channels.rows):
            return ()
        return row_channels(viewer.source, viewer.model.display.montage)[row]

    # -- a change ---------------------------------------------------------------------------
    def _on_bad_channels(self, _bad) -> None:
        viewer = self.viewer
        if viewer.source is None:
            return
        self._reweigh_montage()
        viewer.plot.set_bad_positions(self.positions_of(viewer.drawn_rows()))
        automatic = viewer._automatic   # noqa: SLF001 (the viewer's measured scales, this package's)
        if automatic is not None:
            automatic.set_excluded(self.channel_indexes())
            viewer._apply_automatic_scales()   # noqa: SLF001 (only while the scale follows the data)
        viewer._schedule_request()   # noqa: SLF001

    def _reweigh_montage(self) -> None:
        """Register the montage's weights without the bad channels; when that is a montage
        the overview has no summary of yet (an average reference), build it."""
        from .viewer import montage_key  # noqa: PLC0415 (the viewer module imports this one)

        viewer = self.viewer
        display, names = viewer.model.display, viewer.source.channel_names
        if display.montage is None or viewer.pipeline is None:
            return
        key = montage_key(display.montage, names, display.bad_channels)
        viewer.pipeline.register_montage(key, display.montage_matrix(names))
        if viewer.pipeline.pyramid(key) is None:
            viewer.overview.set_activity(None)
            viewer._start_summary()   # noqa: SLF001

    def toggle_selected(self) -> bool:
        """B: the selected row's channels good again when one of them is bad, else its own
        channel (a derivation's positive one) bad. True when a change was committed."""
        names = self.channels_of_row(self.viewer.model.channels.selected)
        if not names:
            return False
        bad_here = [n for n in names if n in self.channels]
        if bad_here:
            return self.mark(bad_here, False)
        return self.mark(names[:1], True)

    def mark(self, names, bad: bool, reason: str = "") -> bool:
        """Mark ``names`` bad (with ``reason``) or good, as one undoable change."""
        names = list(names)
        sink = self.sink
        if sink is None:
            for name in names:
                self.viewer.channel_status_requested.emit(name, bad)
            return False
        if sink.read_only_reason:
            self._refuse(f"Channel status not changed: the marks are read-only ({sink.read_only_reason})")
            return False
        try:
            state, changes = sink.state, []
            for name in names:
                changes += set_channel_bad(state, name, bad, reason)
            if not changes:
                return False
            what = "bad" if bad else "good"
            state = sink.commit(changes, note=f"mark {', '.join(names)} {what}")
        except Exception as exc:
            if not _told_to_person(exc):
                raise
            self._refuse(f"Channel status not changed: {exc}")
            return False
        self.viewer.set_bad_channels(state.bad_channels)
        self.viewer.refresh_annotations()   # the marks' view holds the sink's state too
        self.committed.emit(state)
        return True

    def _refuse(self, text: str) -> None:
        self.last_refusal = text
        self.refused.emit(text)
        self.viewer.annotation_error.emit(text)   # told where the marks' refusals are

    # -- the row-name menu --------------------------------------------------------------------
    def menu_for(self, position: int) -> QMenu | None:
        """The menu of the row drawn at ``position``: mark each channel it names bad (with
        or without a reason) or good again."""
        rows = self.viewer.drawn_rows()
        if not 0 <= position < len(rows):
            return None
        names = self.channels_of_row(rows[position])
        if not names:
            return None
        menu = QMenu(self.viewer)
        read_only = self.sink.read_only_reason if self.sink is not None else ""
        if read_only:
            self._menu_action(menu, f"Marks are read-only: {read_only}", (), read_only)
        bad = self.channels
        for name in names:
            if name in bad:
                text = f"Mark {name} good" + (f" (bad: {bad[name]})" if bad[name] else "")
                self._menu_action(menu, text, (name, False, False), read_only)
            else:
                self._menu_action(menu, f"Mark {name} bad", (name, True, False), read_only)
                self._menu_action(menu, f"Mark {name} bad, with a reason…", (name, True, True), read_only)
        menu.triggered.connect(self._on_menu_action)
        self.last_menu = menu
        return menu

    @staticmethod
    def _menu_action(menu: QMenu, text: str, data: tuple, read_only: str) -> QAction:
        action = QAction(text, menu)
        action.setData(data)
        action.setEnabled(not read_only)
        menu.addAction(action)
        return action

    def show_menu(self, position: int, screen_point: QPoint) -> None:
        menu = self.menu_for(position)
        if menu is not None:
            menu.popup(screen_point)

    def _on_menu_action(self, action: QAction) -> None:
        data = action.data()
        if not data:
            return
        name, bad, ask = data
        reason = ""
        if ask:
            reason, accepted = self.ask_reason(name)
            if not accepted:
                return
        self.mark([name], bad, reason)

    def ask_reason(self, name: str) -> tuple[str, bool]:
        """The person's reason for marking ``name`` bad, and whether they answered."""
        text, accepted = QInputDialog.getText(self.viewer, "Mark channel bad", f"Why is {name} bad?")
        return text.strip(), bool(accepted)


def _told_to_person(error: Exception) -> bool:
    """Whether ``error`` is one a person is shown rather than a bug: a refused edit, or the
    annotation file's typed errors. Those derive from ``io_backends``' TracemarkError,
    which a widget may not import, so it is recognised by name."""
    return isinstance(error, (AnnotationError, OSError)) or any(
        cls.__name__ == "TracemarkError" for cls in type(error).__mro__)
