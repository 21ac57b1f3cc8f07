"""What ten thousand marks cost a page of the signal viewer.

Opens a synthetic 19-channel recording of an hour (256 Hz) in the viewer, offscreen, and
pages through it with PgDown three ways: with no annotation sink, with an empty one, and
with 10,000 marks (a point event or a short span every 0.36 s, some bound to channels).
For each it prints the median and 95th percentile of:

* a page step: from the key press until the new page is drawn and painted (the plot's
  viewport repainted synchronously), and
* the marks layer alone: one forced redraw of the page shown (``AnnotationLayer.redraw``).

Run: ``.venv/bin/python benchmarks/bench_viewer_marks.py [--pages 60] [--marks 10000]``
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from PyQt6.QtCore import Qt  # noqa: E402
from PyQt6.QtTest import QTest  # noqa: E402
from PyQt6.QtWidgets import QApplication  # noqa: E402

from tracemark.domain.annotations import AnnotationState, InMemoryAnnotations, add, apply  # noqa: E402


def marked_state(count: int, duration_s: float) -> AnnotationState:
    state = AnnotationState.with_default_labels()
    labels = list(state.labels)
    changes = []
    step = duration_s / count
    for i in range(count):
        channels = ("Fp2", "C3") if i % 7 == 0 else ()
        _mark, change = add(state, i * step, 0.0 if i % 2 else step / 3, labels[i % len(labels)], channels,
                            ident=f"m{i}")
        changes += change
    return apply(state, changes)


def percentile(values, q):
    ordered = sorted(values)
    return ordered[min(int(q * len(ordered)), len(ordered) - 1)]


def run(app, sink, pages: int) -> tuple[list[float], list[float]]:
    from viewer_support import make_source

    from tracemark.widgets.viewer import SignalViewer

    viewer = SignalViewer()
    viewer.resize(1400, 800)
    viewer.show()
    viewer.set_source(make_source(duration_s=3600.0, events=[]))
    viewer.set_annotation_sink(sink)
    viewer.prefetch_enabled = True
    deadline = time.perf_counter() + 20
    while not viewer.page_is_current() and time.perf_counter() < deadline:
        app.processEvents()
    steps, layer = [], []
    for _ in range(pages):
        began = time.perf_counter()
        QTest.keyClick(viewer.plot, Qt.Key.Key_PageDown)
        while not viewer.page_is_current():
            app.processEvents()
        viewer.plot.viewport().repaint()
        steps.append(time.perf_counter() - began)
        began = time.perf_counter()
        viewer.marking.layer.redraw()   # forced: the layer's whole work for this page
        layer.append(time.perf_counter() - began)
    drawn = len(viewer.marking.layer.drawn_points) + len(viewer.marking.layer.drawn_spans)
    print(f"    marks drawn on the last page: {drawn}; graphics items of the layer: "
          f"{len(viewer.marking.layer.graphics_items())}")
    viewer.close_source()
    viewer.close()
    return steps, layer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=60)
    parser.add_argument("--marks", type=int, default=10_000)
    args = parser.parse_args()
    app = QApplication.instance() or QApplication([])
    cases = (("no sink", None), ("empty sink", InMemoryAnnotations()),
             (f"{args.marks} marks", InMemoryAnnotations(marked_state(args.marks, 3600.0))))
    reference: tuple[float, float] | None = None   # the viewer without marks, same run
    for name, sink in cases:
        print(f"{name}:")
        steps, layer = run(app, sink, args.pages)
        median, p95 = statistics.median(steps), percentile(steps, 0.95)
        reference = reference or (median, p95)
        print(f"    page step: median {median * 1e3:.1f} ms ({median / reference[0]:.2f}x no sink), "
              f"p95 {p95 * 1e3:.1f} ms ({p95 / reference[1]:.2f}x no sink)")
        print(f"    marks layer redraw: median {statistics.median(layer) * 1e3:.2f} ms, "
              f"p95 {percentile(layer, 0.95) * 1e3:.2f} ms")
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of the whole run: {peak_mb:.0f} MB")


if __name__ == "__main__":
    main()
