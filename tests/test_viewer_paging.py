"""Paging off the GUI thread: parity of what is drawn, latest-only delivery, prefetch, shutdown."""

from __future__ import annotations

import os
import sys
import threading
from contextlib import nullcontext

import numpy as np
import pytest
from PyQt6.QtCore import Qt
from viewer_support import make_source, open_viewer, press, wait_drawn

from tracemark.dsp.decimate import envelope_xy, minmax_decimate
from tracemark.dsp.filters import DisplayFilter
from tracemark.paging.request import ORIGIN_SUMMARY
from tracemark.paging.source import ArraySource


def expected_envelope(full, request, rate, remove_dc=False):
    data = full[request.i_start:request.i_stop][:, list(request.rows)]
    if remove_dc:
        data = data - data.mean(axis=0, dtype=np.float64)
    bins = minmax_decimate(data, request.factor, request.i_start)
    return envelope_xy(*bins, request.factor, rate)


def show_as_recorded(qtbot, viewer):
    """No DC removal, no clipping: what is drawn is the samples themselves."""
    viewer.model.display.set_display_filter(DisplayFilter())
    viewer.plot.set_clipping(None)
    wait_drawn(qtbot, viewer)


@pytest.mark.parametrize("span_s", [2.0, 10.0, 60.0])
def test_what_is_drawn_equals_decimating_a_full_eager_load(qtbot, span_s):
    source = make_source(duration_s=240.0, rate=512.0)
    source._data[70_001, 2] = 5000.0  # a one-sample spike must survive any zoom
    full = source.read_block(0, source.n_samples, range(len(source.channel_names)))
    viewer = open_viewer(qtbot, source)
    show_as_recorded(qtbot, viewer)
    viewer.model.window.set_span(span_s)
    viewer.model.window.centre_on(70_001 / 512.0)
    wait_drawn(qtbot, viewer)
    request = viewer.last_result.request
    x_expected, y_expected = expected_envelope(full, request, source.sampling_rate)
    for position in range(len(request.rows)):
        x, y = viewer.plot.drawn_values(position)
        np.testing.assert_allclose(x, x_expected)
        np.testing.assert_allclose(y, y_expected[:, position], rtol=1e-5, atol=1e-3)
    spike_row = request.rows.index(2)
    assert viewer.plot.drawn_values(spike_row)[1].max() == pytest.approx(5000.0, rel=1e-5)


def test_by_default_each_page_is_drawn_with_its_dc_removed(qtbot):
    source = make_source(duration_s=60.0, rate=256.0)
    source._data[:, 1] += 40_000.0   # a BioSemi-like offset of 40 mV
    full = source.read_block(0, source.n_samples, range(len(source.channel_names)))
    viewer = open_viewer(qtbot, source)
    viewer.plot.set_clipping(None)
    wait_drawn(qtbot, viewer)
    request = viewer.last_result.request
    _, y_expected = expected_envelope(full, request, source.sampling_rate, remove_dc=True)
    for position in range(len(request.rows)):
        np.testing.assert_allclose(viewer.plot.drawn_values(position)[1], y_expected[:, position],
                                   rtol=1e-4, atol=2e-3)
    assert viewer.status.text("filter") == "DC removed"


def test_whole_recording_view_comes_from_the_summary_and_matches_eager_load(qtbot):
    source = make_source(duration_s=600.0, rate=512.0)
    source._data[123_457, 0] = -4000.0
    full = source.read_block(0, source.n_samples, range(len(source.channel_names)))
    viewer = open_viewer(qtbot, source)
    show_as_recorded(qtbot, viewer)
    with qtbot.waitSignal(viewer.summary_ready, timeout=10000) if not viewer.overview.has_summary else nullcontext():
        pass
    qtbot.waitUntil(lambda: viewer.overview.has_summary, timeout=10000)
    reads = len(source.reads)
    press(qtbot, viewer, Qt.Key.Key_W)
    result = viewer.last_result
    assert result.origin == ORIGIN_SUMMARY
    assert len(source.reads) == reads  # no frame reads the whole file
    assert "summary" in viewer.status.text("decimation")
    x_expected, y_expected = expected_envelope(full, result.request, source.sampling_rate)
    x, y = viewer.plot.drawn_values(0)
    np.testing.assert_allclose(y, y_expected[:len(y), 0], rtol=1e-5, atol=1e-3)
    assert y.min() == pytest.approx(-4000.0, rel=1e-5)


def settle_prefetch(qtbot, viewer):
    qtbot.waitUntil(lambda: not viewer.pager.prefetch_pending, timeout=2000)
    viewer.pager.wait_idle()


def test_page_down_finds_the_next_page_prefetched(qtbot):
    viewer = open_viewer(qtbot, make_source(duration_s=120.0))
    qtbot.waitUntil(lambda: viewer.pager.prefetched_count >= 1, timeout=5000)
    settle_prefetch(qtbot, viewer)
    press(qtbot, viewer, Qt.Key.Key_PageDown)
    assert viewer.model.window.start_s == 10.0
    # The page came out of the result cache: drawn without a worker round trip.
    assert viewer.last_result.from_cache
    settle_prefetch(qtbot, viewer)
    press(qtbot, viewer, Qt.Key.Key_PageDown)  # and the one after was prefetched in turn
    assert viewer.last_result.from_cache and viewer.model.window.start_s == 20.0
    viewer.prefetch_enabled = False  # without prefetch, the page before the last is computed
    press(qtbot, viewer, Qt.Key.Key_End, Qt.KeyboardModifier.ControlModifier)
    settle_prefetch(qtbot, viewer)
    press(qtbot, viewer, Qt.Key.Key_PageUp)
    assert not viewer.last_result.from_cache


class SlowSource(ArraySource):
    """Reads block until released, to hold requests in flight."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.gate = threading.Event()
        self.gate.set()

    def read_block(self, i_start, i_stop, channels):
        self.gate.wait(5)
        return super().read_block(i_start, i_stop, channels)


def test_only_the_latest_request_is_drawn(qtbot):
    base = make_source(duration_s=300.0)
    source = SlowSource(base._data, base.sampling_rate, base.channel_names)
    viewer = open_viewer(qtbot, source)
    viewer.pager.wait_idle()
    source.gate.clear()
    drawn = []
    viewer.page_drawn.connect(lambda result: drawn.append(result.request.i_start))
    for _ in range(6):  # a burst of PageDown while reads are stuck
        qtbot.keyClick(viewer.plot, Qt.Key.Key_PageDown)
        qtbot.wait(5)
    source.gate.set()
    wait_drawn(qtbot, viewer)
    assert viewer.model.window.start_s == 60.0
    assert drawn[-1] == 60 * 256
    # Intermediate pages were coalesced or dropped; none was drawn after a newer one.
    assert len(drawn) < 6
    assert drawn == sorted(drawn)


def test_closing_stops_the_workers(qtbot):
    base = make_source(duration_s=300.0)
    source = SlowSource(base._data, base.sampling_rate, base.channel_names)
    viewer = open_viewer(qtbot, source)
    pager, summaries = viewer.pager, viewer.summaries
    source.gate.clear()
    qtbot.keyClick(viewer.plot, Qt.Key.Key_End, Qt.KeyboardModifier.ControlModifier)
    qtbot.wait(30)
    source.gate.set()
    viewer.close()
    assert pager.active_threads == 0
    assert summaries._pool.activeThreadCount() == 0
    drawn = []
    viewer.page_drawn.connect(drawn.append)
    pager.request(viewer.page_request(0.0, 999))
    qtbot.wait(50)
    assert drawn == []  # a shut-down pager accepts nothing


def test_a_failing_read_is_reported_not_raised(qtbot):
    class Broken(ArraySource):
        def read_block(self, i_start, i_stop, channels):
            if i_start > 20_000:
                raise OSError("disk went away")
            return super().read_block(i_start, i_stop, channels)

    base = make_source(duration_s=300.0)
    viewer = open_viewer(qtbot, Broken(base._data, base.sampling_rate, base.channel_names))
    with qtbot.waitSignal(viewer.pager.page_failed, timeout=3000):
        viewer.model.window.set_start(200.0)
    assert "disk went away" in viewer.status.text("decimation")


def test_the_summary_reports_progress_a_few_times_a_second_and_always_its_end(qtbot):
    from tracemark.widgets.viewer.pager import SummaryBuilder

    builder = SummaryBuilder()
    seen = []
    builder.progress.connect(seen.append)

    def build(progress, _cancelled):
        for k in range(1, 1001):      # a thousand chunks in a few milliseconds
            progress(k / 1000)
        return object()

    with qtbot.waitSignal(builder.finished, timeout=10000):
        builder.start("key", build)
    qtbot.wait(50)
    assert 2 <= len(seen) <= 10 and seen[0] == 0.001 and seen[-1] == 1.0
    builder.shutdown()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread nice values are Linux's")
def test_the_summary_is_built_at_a_lower_priority_than_pages(qtbot):
    from tracemark.paging.priority import BACKGROUND_NICENESS
    from tracemark.widgets.viewer.pager import SummaryBuilder

    builder = SummaryBuilder()
    seen = {}

    def build(_progress, _cancelled):
        seen["summary"] = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
        return object()

    with qtbot.waitSignal(builder.finished, timeout=10000):
        builder.start("key", build)
    assert seen["summary"] == min(os.getpriority(os.PRIO_PROCESS, 0) + BACKGROUND_NICENESS, 19)
    builder.shutdown()
