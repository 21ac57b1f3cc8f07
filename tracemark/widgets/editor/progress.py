"""Where the annotator stands: "Trace 13 of 480" (trace numbers count from 1, see
:mod:`tracemark.domain.trace_numbers`) with the counts of accepted, rejected and unreviewed
traces told as everywhere else (:meth:`ReviewCounts.describe`) and a bar of the reviewed
fraction; and the banner that says plainly when the cache is open read-only and why.
"""

from __future__ import annotations

from collections.abc import Mapping

from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import QFrame, QHBoxLayout, QLabel, QProgressBar, QWidget

from tracemark.domain.review import ACCEPTED, REJECTED, UNREVIEWED, ReviewCounts
from tracemark.widgets.flow_layout import FlowLayout

#: Colour of each state's count, as in the table's State column.
STATE_STYLES = {ACCEPTED: "color:#17612c", REJECTED: "color:#9b1c14", UNREVIEWED: "color:#444"}


class ReviewProgress(QWidget):
    """"Trace 13 of 480    300 accepted · 20 rejected · 160 unreviewed" and a bar."""

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
        layout = FlowLayout(self, spacing=16, margins=(6, 2, 6, 2))   # wraps when narrow
        layout.addWidget(self.position_label)
        layout.addWidget(self.counts_label)
        layout.addWidget(self.bar)
        self._counts = ReviewCounts()
        self.set_counts(self._counts)

    def set_position(self, number: int | None, total: int, of_table: int | None = None) -> None:
        """``number`` is the trace number a person reads (from 1) of the trace on screen;
        ``of_table``, when given, its 1-based place in a table that holds only some traces."""
        if number is None or total == 0:
            self.position_label.setText(f"No trace of {total}")
            return
        where = f"Trace {number}"
        where += f" of {total}" if of_table is None else f" ({of_table} of {total} listed)"
        self.position_label.setText(f"<b>{where}</b>")

    def set_counts(self, counts: ReviewCounts | Mapping[str, int]) -> None:
        if not isinstance(counts, ReviewCounts):
            counts = ReviewCounts.of_mapping(counts)
        self._counts = counts
        # The words of ReviewCounts.describe(), each in its state's colour.
        self.counts_label.setText(" · ".join(
            f"<span style='{STATE_STYLES[state]}'>{text}</span>" for state, text in counts.parts()))
        self.counts_label.setToolTip(counts.describe())
        self.bar.setRange(0, max(counts.total, 1))
        self.bar.setValue(counts.reviewed)

    @property
    def counts(self) -> dict[str, int]:
        return self._counts.as_dict()

    @property
    def review_counts(self) -> ReviewCounts:
        return self._counts


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
