"""How quickly the trace editor shows the next trace, with a 10,000-row trace table.

Offscreen. The editor is fed the way the app feeds it: ``set_traces`` with 10,000 rows,
then for each of 500 traces ``set_trace`` (the trace on screen) and ``update_row`` (the row
of the trace just decided). Reported, as median and p95 in ms:

* ``set_trace``: the editor's own work for the next trace (plot items, form, table
  selection, peak estimate), without painting;
* ``set_trace + update_row``: the same plus one table row changed after an edit;
* ``... + paint``: the same plus a synchronous repaint of the whole editor, i.e. what
  the screen costs (the goal for the whole app's next-trace display is <= 30 ms, which
  also includes reading the trace from the cache).

Traces are synthetic MEPs, two shapes: 307 samples x 2 channels (the demo cache: 150 ms
at 2048 Hz) and 2048 samples x 64 channels (1 s of a 64-channel EEG cache). Also timed
once: ``set_traces`` of 10,000 rows, a sort by peak-to-peak, the "unreviewed" filter.

    python benchmarks/bench_editor.py [--traces 500] [--rows 10000]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
from PyQt6.QtCore import Qt  # noqa: E402
from PyQt6.QtWidgets import QApplication  # noqa: E402

from tracemark.widgets.editor import TraceEditorWidget, TraceRow, TraceView  # noqa: E402


def _rows(n: int, rng: np.random.Generator) -> list[TraceRow]:
    states = rng.integers(3, size=n)
    return [TraceRow(i, "session.TRC", 3.0 + 5.0 * i, bool(states[i]), bool(states[i] == 2),
                     int(rng.integers(-5, 6)), "" if i % 7 else "noisy",
                     float(rng.uniform(10, 900)) if i % 4 else None, "ab") for i in range(n)]


def _trace(i: int, samples: int, channels: int, rate: float, rng) -> TraceView:
    pre = samples // 3
    data = rng.normal(0, 5, (samples, channels)).astype(np.float32)
    t = np.arange(samples)
    data[:, 0] += -300 * np.exp(-0.5 * ((t - pre - 0.022 * rate) / 4) ** 2)
    data[:, 0] += 380 * np.exp(-0.5 * ((t - pre - 0.028 * rate) / 5) ** 2)
    labels = tuple(["EMG"] + [f"E{k}" for k in range(1, channels)])
    attrs = {"reject": False, "onset_shift": int(i % 5), "comment": "", "examiner": "ab",
             "neg_peak_magnitude_uv": None if i % 2 else -300.0, "neg_peak_latency_ms": 22.0,
             "pos_peak_magnitude_uv": None if i % 2 else 380.0, "pos_peak_latency_ms": 28.0,
             "stimulation_intensity_mso": 50.0, "xyz_coords": [1.0, 2.0, 3.0],
             "event_time": 3.0 + 5.0 * i, "id": i}
    return TraceView(i, data, labels, rate, pre, attrs, "session.TRC", {"subject": "S01"})


def _stats(values: list[float]) -> str:
    ms = np.array(values) * 1000.0
    return f"median {statistics.median(ms):6.2f} ms   p95 {np.percentile(ms, 95):6.2f} ms"


def run_case(editor: TraceEditorWidget, rows: list[TraceRow], traces: list[TraceView], app) -> None:
    only, both, painted = [], [], []
    for trace in traces:
        app.processEvents()
        start = time.perf_counter()
        editor.set_trace(trace)
        only.append(time.perf_counter() - start)
    for k, trace in enumerate(traces):
        row = rows[trace.index]
        changed = TraceRow(**{**row.__dict__, "reviewed": True, "reject": bool(k % 2)})
        app.processEvents()
        start = time.perf_counter()
        editor.update_row(changed)
        editor.set_trace(trace)
        both.append(time.perf_counter() - start)
        editor.repaint()
        painted.append(time.perf_counter() - start)
    print(f"  set_trace                      {_stats(only)}")
    print(f"  set_trace + update_row         {_stats(both)}")
    print(f"  set_trace + update_row + paint {_stats(painted)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--traces", type=int, default=500)
    parser.add_argument("--rows", type=int, default=10_000)
    args = parser.parse_args()
    app = QApplication.instance() or QApplication([])
    rng = np.random.default_rng(0)
    editor = TraceEditorWidget()
    editor.resize(1400, 900)
    editor.show()
    app.processEvents()
    rows = _rows(args.rows, rng)
    start = time.perf_counter()
    editor.set_traces(rows)
    print(f"set_traces({args.rows} rows): {1000 * (time.perf_counter() - start):.1f} ms")
    start = time.perf_counter()
    editor.table.view.sortByColumn(5, Qt.SortOrder.DescendingOrder)
    print(f"sort by peak-to-peak: {1000 * (time.perf_counter() - start):.1f} ms")
    start = time.perf_counter()
    editor.table.set_state_filter("unreviewed")
    print(f"filter 'unreviewed only': {1000 * (time.perf_counter() - start):.1f} ms")
    editor.table.set_state_filter(None)
    editor.table.view.sortByColumn(0, Qt.SortOrder.AscendingOrder)
    picks = rng.choice(args.rows, size=args.traces, replace=False)
    for samples, channels, rate in ((307, 2, 2048.0), (2048, 64, 2048.0)):
        print(f"{args.traces} traces of {samples} samples x {channels} channels:")
        traces = [_trace(int(i), samples, channels, rate, rng) for i in picks]
        run_case(editor, rows, traces, app)


if __name__ == "__main__":
    main()
