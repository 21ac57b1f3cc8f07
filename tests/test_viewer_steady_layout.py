"""The traces stay where they are while the viewer's own work settles, and that work keeps
out of the way of a person paging.

- The status line under the traces keeps one height whatever it says: a line that wrapped
  when its texts grew shrank the plot, which moved every row and drew the page again.
- The person's annotation file opens after the first page without moving the rows: the
  legend and the marks' label lane have their room from the start.
- Event labels made ahead of need wait while the person pages (one per page), and the rest
  are made once they pause.
- The annotation store does not bring the trace cache (and h5py) in with it.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from PyQt6.QtWidgets import QVBoxLayout, QWidget
from viewer_support import EEG_NAMES, open_viewer, synthetic_data, wait_drawn

import tracemark.widgets.viewer.viewer as viewer_module
from tracemark.app.main_window import MainWindow
from tracemark.demo.trc_writer import write_trc_array
from tracemark.paging.source import ArraySource, SourceEvent
from tracemark.widgets.viewer.event_markers import MAX_LABELS
from tracemark.widgets.viewer.status_line import StatusLine

RATE = 256.0


def test_the_status_line_keeps_one_height_whatever_it_says(qtbot):
    host = QWidget()
    qtbot.addWidget(host)
    layout = QVBoxLayout(host)
    status = StatusLine()
    layout.addWidget(status)
    host.resize(480, 60)
    host.show()
    qtbot.waitExposed(host)
    status.set_position("00:00:00")
    layout.activate()
    short_height = status.height()
    status.set_sensitivity("EEG 7 µV/mm · EMG 50 µV/mm · ECG 100 µV/mm · EOG 20 µV/mm · Resp 1 mV/mm")
    status.set_montage("Longitudinal bipolar (double banana) with the temporal chain repeated")
    status.set_decimation("1 px = 1,024 samples (min/max of each)")
    status.set_busy(True)
    layout.activate()
    assert status.height() == short_height
    assert status.minimumSizeHint().width() < 480   # long texts elide; the viewer never widens
    assert status.labels["sensitivity"].toolTip().startswith("EEG 7")   # the whole text is at hand


@pytest.fixture
def recording(tmp_path):
    rng = np.random.default_rng(5)
    return write_trc_array(tmp_path / "steady.TRC", rng.normal(0, 30, (int(RATE * 120), 8)).astype(np.float32),
                           sampling_rate=RATE)


def test_the_rows_do_not_move_when_the_marks_file_opens(qtbot, recording):
    window = MainWindow()
    qtbot.addWidget(window)
    window.resize(1300, 760)
    window.show()
    qtbot.waitExposed(window)
    plot = window.viewer.plot
    first: list = []

    def on_page(_result) -> None:
        if not first:
            first.append((plot.size(), plot.getViewBox().viewRange()[1]))

    window.viewer.page_drawn.connect(on_page)
    assert window.open_path(recording)
    qtbot.waitUntil(lambda: window.marks.store is not None, timeout=15000)
    qtbot.wait(50)   # any layout the store's arrival caused has run
    size, y_range = first[0]
    assert window.viewer.marking.legend.isVisible()
    assert plot.size() == size
    assert plot.getViewBox().viewRange()[1] == pytest.approx(y_range)


def test_event_labels_wait_while_the_person_pages(qtbot, monkeypatch):
    # At most one event on a 10-s page: the page itself needs one label item.
    events = [SourceEvent(t, 0.0, "TMS", "trigger") for t in np.arange(1.0, 590.0, 30.0)]
    source = ArraySource(synthetic_data(int(600 * RATE), 4, RATE), RATE, EEG_NAMES[:4], events=events)
    monkeypatch.setattr(viewer_module, "SUMMARY_PAUSE_S", 60.0)   # the person never pauses
    viewer = open_viewer(qtbot, source)
    qtbot.wait(200)   # the first page has settled: the viewer's background work has begun
    for _ in range(5):
        viewer.actions["page_forward"].trigger()
        wait_drawn(qtbot, viewer)
    assert 1 <= viewer.plot.event_labels_prepared() <= 1 + 5   # what a page shows, and one per page
    monkeypatch.setattr(viewer_module, "SUMMARY_PAUSE_S", 0.05)
    viewer.actions["page_forward"].trigger()   # the last page before a pause
    qtbot.waitUntil(lambda: viewer.plot.event_labels_prepared() == MAX_LABELS, timeout=5000)


def test_the_annotation_store_leaves_the_trace_cache_alone():
    code = ("import json, sys; import tracemark.io_backends.annotation_store; "
            "print(json.dumps([m for m in ('h5py', 'tracemark.io_backends.cache.cachefile') if m in sys.modules]))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(done.stdout) == []
