"""Ties the signal viewer to the trace on screen: the viewer jumps to the trace's place in
its source recording, shades the trace's window and shows its onset as a line that can be
dragged; releasing the line asks for a new ``onset_shift`` (one edit, not one per move).

The viewer's time axis starts at its stream's first sample, and a cache stores each trace's
``event_sample`` on that same stream, so the event sits at ``event_sample / rate`` seconds.
A trace is linked only when it was cut from the open recording (:meth:`OriginInfo.cut_from`:
the file its origin names, or a file of the same name when the cache was moved with its
recording). A recording found not to be the source after all (its checksum differs from
the cache's) is refused (:meth:`ViewerLink.refuse`) until the cache closes. Traces are
never shaded on a recording they were not cut from.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyqtgraph as pg
from PyQt6.QtCore import QObject, pyqtSignal

from tracemark.domain import trace_attributes as keys
from tracemark.domain.trace_attributes import onset_shift_of
from tracemark.widgets.guarded_line import GuardedInfiniteLine

if TYPE_CHECKING:   # the cache side loads when a cache is opened
    from .annotation_session import OriginInfo

HIGHLIGHT_KEY = "current-trace"
#: Viewer span (s) set when a cache's traces are first linked to their recording.
TRACE_CONTEXT_S = 4.0
ONSET_PEN = pg.mkPen((200, 30, 30), width=2)
ONSET_HOVER_PEN = pg.mkPen((255, 60, 60), width=4)


class ViewerLink(QObject):
    #: (trace index, new onset_shift) after the onset line was dragged and released.
    onset_dragged = pyqtSignal(int, int)

    def __init__(self, viewer, parent: QObject | None = None):
        super().__init__(parent)
        self.viewer = viewer
        self.recording_path: Path | None = None
        self._trace: tuple[int, OriginInfo, int, int] | None = None   # index, origin, event, shift
        self._editable = True
        self.onset_line = GuardedInfiniteLine(angle=90, movable=True, pen=ONSET_PEN,
                                          hoverPen=ONSET_HOVER_PEN, label="onset",
                                          labelOpts={"position": 0.97, "color": (200, 30, 30)})
        self.onset_line.setZValue(50)
        self.onset_line.sigPositionChangeFinished.connect(self._released)
        self._line_added = False
        self._span_chosen = False
        #: Origin name -> whether its traces link to the open recording (decided once per
        #: recording: the rule may look at the file system).
        self._linked: dict[str, bool] = {}
        self._refused: set[Path] = set()

    def set_recording(self, path: Path | None) -> None:
        self.recording_path = None if path is None else Path(path).absolute()
        self._span_chosen = False
        self._linked = {}
        self.clear()

    def refuse(self, path: Path) -> None:
        """``path`` turned out not to be the traces' source: shade nothing on it."""
        self._refused.add(Path(path).absolute())
        self._linked = {}
        self.clear()

    def forget_refusals(self) -> None:
        """The cache closed: what was learnt about its source no longer holds."""
        self._refused.clear()
        self._linked = {}

    def set_editable(self, editable: bool) -> None:
        self._editable = editable
        self.onset_line.setMovable(editable)

    def links(self, origin: OriginInfo) -> bool:
        """Whether traces of ``origin`` were cut from the open recording."""
        if self.recording_path is None or self.viewer.source is None:
            return False
        if self.recording_path in self._refused:
            return False
        if origin.name not in self._linked:
            self._linked[origin.name] = origin.cut_from(self.recording_path)
        return self._linked[origin.name]

    def show_trace(self, index: int, origin: OriginInfo, attrs: dict[str, Any]) -> bool:
        """Centre the viewer on the trace, shade its window, place the onset line."""
        event = attrs.get(keys.EVENT_SAMPLE)
        if not isinstance(event, int) or not self.links(origin):
            self.clear()
            return False
        shift = onset_shift_of(attrs)
        rate = origin.sampling_rate
        self._trace = (index, origin, event, shift)
        start, stop = (event - origin.samples_pre) / rate, (event + origin.samples_post) / rate
        plot = self.viewer.plot
        plot.add_highlight(HIGHLIGHT_KEY, start, stop)
        if not self._line_added:
            plot.addItem(self.onset_line, ignoreBounds=True)
            self._line_added = True
        self.onset_line.blockSignals(True)
        self.onset_line.setBounds((start, stop - 1.0 / rate))
        self.onset_line.setValue((event + shift) / rate)
        self.onset_line.blockSignals(False)
        # Its label sits in the second lane of the event-label strip, under the trigger's.
        self.onset_line.label.setPosition(plot.label_lane_position(1))
        self.onset_line.show()
        window = self.viewer.model.window
        if not self._span_chosen:
            # A trace lasts a fraction of a second: open on a span where its window is
            # plainly visible, with a few neighbouring pulses for context; the person's
            # own zoom is kept from then on.
            self._span_chosen = True
            span = max(TRACE_CONTEXT_S, 8 * (stop - start))
            if window.span_s > span:
                window.set_span(span)
        window.centre_on((start + stop) / 2)
        return True

    def clear(self) -> None:
        self._trace = None
        self.viewer.plot.remove_highlight(HIGHLIGHT_KEY)
        self.onset_line.hide()

    def onset_time(self) -> float | None:
        return None if self._trace is None else float(self.onset_line.value())

    def _released(self, line: pg.InfiniteLine) -> None:
        if self._trace is None or not self._editable:
            return
        index, origin, event, shift = self._trace
        new_shift = int(round(line.value() * origin.sampling_rate)) - event
        new_shift = max(-origin.samples_pre, min(new_shift, origin.samples_post - 1))
        if new_shift != shift:
            self.onset_dragged.emit(index, new_shift)
        else:
            line.setValue((event + shift) / origin.sampling_rate)
