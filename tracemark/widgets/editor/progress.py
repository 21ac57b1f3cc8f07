"""Where the annotator stands: "trace i of N" with the counts of accepted, rejected and
unreviewed traces and a bar of the reviewed fraction; and the banner that says plainly
when the cache is open read-only and why.
"""

from __future__ import annotations

from collections.abc import Mapping

from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import QFrame, QHBoxLayout, QLabel, QProgressBar, QWidget

from .model import ACCEPTED, REJECTED, UNREVIEWED


class ReviewProgress(QWidget):
    """"Trace 13 of 480 (#12)  ·  300 accepted · 20 rejected · 160 unreviewed" and a bar."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("traceEditor.progress")
        self.setAccessibleName("Review progress")
        self.position_label = QLabel("No trace")
        self.position_label.setObjectName("traceEditor.progress.position")
        self.position_label.setAccessibleName("Trace position")
        self.counts_label = QLabel("")
        self.counts_label.setObjectName("traceEditor.progress.counts")
        self.counts_label.setAccessibleName("Review counts")
        self.counts_label.setTextFormat(Qt.TextFormat.RichText)
        self.bar = QProgressBar()
        self.bar.setObjectName("traceEditor.progress.bar")
        self.bar.setAccessibleName("Reviewed fraction")
        self.bar.setTextVisible(True)
        self.bar.setFormat("%p% reviewed")
        self.bar.setMaximumWidth(180)
        self.bar.setMaximumHeight(16)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 2, 6, 2)
        layout.addWidget(self.position_label)
        layout.addSpacing(16)
        layout.addWidget(self.counts_label, 1)
        layout.addWidget(self.bar)
        self._counts: dict[str, int] = {ACCEPTED: 0, REJECTED: 0, UNREVIEWED: 0}
        self.set_counts(self._counts)

    def set_position(self, ordinal: int | None, total: int, trace_index: int | None = None) -> None:
        """``ordinal`` is 1-based; ``trace_index`` the cache's (0-based) index."""
        if ordinal is None or total == 0:
            self.position_label.setText(f"No trace of {total}")
            return
        suffix = f" (#{trace_index})" if trace_index is not None else ""
        self.position_label.setText(f"<b>Trace {ordinal} of {total}</b>{suffix}")

    def set_counts(self, counts: Mapping[str, int]) -> None:
        accepted, rejected = counts.get(ACCEPTED, 0), counts.get(REJECTED, 0)
        unreviewed = counts.get(UNREVIEWED, 0)
        self._counts = {ACCEPTED: accepted, REJECTED: rejected, UNREVIEWED: unreviewed}
        self.counts_label.setText(
            f"<span style='color:#17612c'>✓ {accepted} accepted</span> &nbsp;·&nbsp; "
            f"<span style='color:#9b1c14'>✗ {rejected} rejected</span> &nbsp;·&nbsp; "
            f"<span style='color:#444'>{unreviewed} unreviewed</span>")
        total = accepted + rejected + unreviewed
        self.bar.setRange(0, max(total, 1))
        self.bar.setValue(accepted + rejected)

    @property
    def counts(self) -> dict[str, int]:
        return dict(self._counts)


class ReadOnlyBanner(QFrame):
    """An amber strip above the editor, visible only while the cache is read-only."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("traceEditor.readOnlyBanner")
        self.setAccessibleName("Read-only notice")
        self.setStyleSheet("#traceEditor\\.readOnlyBanner { background:#fff3cd; "
                           "border:1px solid #e0c068; border-radius:3px; }")
        self.label = QLabel("")
        self.label.setObjectName("traceEditor.readOnlyBanner.text")
        self.label.setAccessibleName("Read-only reason")
        self.label.setWordWrap(True)
        self.label.setStyleSheet("color:#5c4400;")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        layout.addWidget(self.label, 1)
        self.hide()

    def set_reason(self, reason: str | None) -> None:
        if reason:
            self.label.setText(f"<b>Read-only</b> — {reason}. Traces can be viewed, not changed.")
            self.show()
        else:
            self.label.setText("")
            self.hide()
