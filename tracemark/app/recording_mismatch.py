"""The question asked when a recording is opened beside traces that were not cut from it.

Traces are never shown against a recording they do not come from, so opening such a
recording asks, in a window-modal message box named ``recordingMismatchDialog`` that names
the recording, the traces' source and the cache: open the recording in a new window, close
the traces and open it here, or cancel. The box does not block (``open``, not ``exec``): the
answer arrives through the callbacks, and tests answer it by clicking its buttons
(``recordingMismatch.newWindow``, ``recordingMismatch.closeTraces``,
``recordingMismatch.cancel``). Whether to ask is :meth:`OriginInfo.cut_from`'s rule.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import QMessageBox, QWidget

if TYPE_CHECKING:   # the cache side loads when a cache is opened
    from .annotation_session import AnnotationSession

NEW_WINDOW, CLOSE_TRACES, CANCEL = "newWindow", "closeTraces", "cancel"


def traces_source_text(session: AnnotationSession) -> str:
    """The recordings the cache's traces were cut from, one path (or origin name) a line."""
    sources = sorted({origin.source_file or origin.name for origin in session.origins.values()})
    return "\n".join(sources) or "no recording named"


def ask_recording_mismatch(parent: QWidget, session: AnnotationSession, recording: Path,
                           answered: Callable[[str], None]) -> QMessageBox:
    """Show the question (without blocking); ``answered(NEW_WINDOW | CLOSE_TRACES | CANCEL)``
    is called once the person has chosen."""
    sources = sorted({Path(o.source_file).name if o.source_file else o.name
                      for o in session.origins.values()})
    box = QMessageBox(QMessageBox.Icon.Question, "Traces from another recording",
                      f"The traces of {session.path.name} were cut from {', '.join(sources)}, "
                      f"not from {recording.name}.", QMessageBox.StandardButton.NoButton, parent)
    box.setObjectName("recordingMismatchDialog")
    box.setInformativeText(
        f"Shown beside {recording.name}, their windows would be placed on a recording they "
        f"do not come from.\n\nRecording: {recording}\nTraces cut from: "
        f"{traces_source_text(session)}\nTrace cache: {session.path}")
    buttons = {
        NEW_WINDOW: box.addButton("Open in a new window", QMessageBox.ButtonRole.AcceptRole),
        CLOSE_TRACES: box.addButton("Close the traces and open",
                                    QMessageBox.ButtonRole.DestructiveRole),
        CANCEL: box.addButton(QMessageBox.StandardButton.Cancel),
    }
    for answer, button in buttons.items():
        if button is not None:  # Qt returns None only for a role it does not know
            button.setObjectName(f"recordingMismatch.{answer}")
    box.setDefaultButton(buttons[NEW_WINDOW])
    box.setEscapeButton(buttons[CANCEL])
    box.setWindowModality(Qt.WindowModality.WindowModal)

    def finished(_result: int) -> None:
        clicked = box.clickedButton()
        answered(next((a for a, b in buttons.items() if b is clicked), CANCEL))

    box.finished.connect(finished)
    box.open()
    return box
