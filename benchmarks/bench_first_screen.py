"""What a readable first screen costs: the amplitude survey before the first page.

Since a recording opens at a sensitivity measured from its first minutes, the worker reads
and measures a few windows of every channel before it computes the first page. This
benchmark times, in the same run and alternating, on one generated recording:

* **with survey**: ``set_source`` to the first page painted, as Tracemark opens files;
* **lean reference**: the same viewer with ``automatic_scale=False``, which paints the
  first page at a fixed sensitivity (what the viewer did before the survey existed);
* the survey alone on the worker: reading its windows and computing the spreads.

It prints median and p95 of each and the ratio of the medians. Offscreen, one process,
page cache warm after a first untimed open (a person opening a file twice pays the cold
read once either way).

    python benchmarks/bench_first_screen.py [--channels 64] [--rate 2048] [--minutes 60]
                                            [--repeats 15] [--folder /tmp/tracemark-first-screen]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))


def make_recording(folder: Path, channels: int, rate: float, minutes: float) -> Path:
    from tracemark.demo.trc_writer import write_trc_array

    path = folder / f"first-screen-{channels}ch-{rate:g}Hz-{minutes:g}min.TRC"
    if path.exists():
        return path
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    n = int(minutes * 60 * rate)
    block = 60 * int(rate)

    def chunks():
        t0 = 0
        while t0 < n:
            k = min(block, n - t0)
            t = (t0 + np.arange(k)) / rate
            data = 30 * np.sin(2 * np.pi * 9.5 * t)[:, None] + rng.normal(0, 8, (k, channels))
            yield data.astype(np.float32)
            t0 += k

    write_trc_array(path, np.concatenate(list(chunks())), channel_names=[f"E{i + 1}" for i in range(channels)],
                    sampling_rate=rate, units="uV", bytes_per_sample=2, physical_range=(-3200.0, 3200.0))
    return path


def first_page_seconds(app, viewer, source) -> float:
    drawn = []
    viewer.page_drawn.connect(lambda _r: drawn.append(time.perf_counter()))
    began = time.perf_counter()
    viewer.set_source(source)
    while not drawn:
        app.processEvents()
        time.sleep(0.0005)
    app.processEvents()   # the paint of that page
    viewer.page_drawn.disconnect()
    return drawn[0] - began


def stats(values: list[float]) -> str:
    ms = sorted(v * 1000 for v in values)
    p95 = ms[min(len(ms) - 1, int(round(0.95 * (len(ms) - 1))))]
    return f"median {statistics.median(ms):7.1f} ms   p95 {p95:7.1f} ms"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--channels", type=int, default=64)
    parser.add_argument("--rate", type=float, default=2048.0)
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--folder", type=Path, default=Path("/tmp/tracemark-first-screen"))
    args = parser.parse_args()
    import os

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PyQt6.QtWidgets import QApplication

    from tracemark.app.viewer_source import RecordingSource
    from tracemark.dsp.amplitude import robust_spreads, survey_windows
    from tracemark.io_backends import open_recording
    from tracemark.paging.survey import survey_spreads
    from tracemark.widgets.viewer import SignalViewer

    path = make_recording(args.folder, args.channels, args.rate, args.minutes)
    app = QApplication.instance() or QApplication([])
    viewers = {}
    for name, automatic in (("with survey", True), ("lean reference", False)):
        viewer = SignalViewer(automatic_scale=automatic)
        viewer.resize(1600, 1000)
        viewer.show()
        viewers[name] = viewer
    times: dict[str, list[float]] = {name: [] for name in viewers}
    survey: list[float] = []
    survey_physical: list[float] = []   # the same spreads from physical values: the reference
    with open_recording(path) as recording:
        for repeat in range(args.repeats + 1):
            for name, viewer in viewers.items():   # alternating, so load affects both alike
                source = RecordingSource(recording)
                seconds = first_page_seconds(app, viewer, source)
                viewer.close_source()
                if repeat:                          # the first round warms the page cache
                    times[name].append(seconds)
            source = RecordingSource(recording)
            began = time.perf_counter()
            survey_spreads(source, int(10 * source.sampling_rate))   # what the viewer runs
            if repeat:
                survey.append(time.perf_counter() - began)
            began = time.perf_counter()
            windows = survey_windows(source.n_samples, source.sampling_rate, len(source.channel_names))
            robust_spreads([source.read_block(a, b, range(len(source.channel_names))) for a, b in windows],
                           int(10 * source.sampling_rate))
            if repeat:
                survey_physical.append(time.perf_counter() - began)
    print(f"{path.name}: {args.channels} channels, {args.rate:g} Hz, {args.minutes:g} min; "
          f"{args.repeats} opens each, alternating")
    for name, values in times.items():
        print(f"  set_source to first page, {name:15s} {stats(values)}")
    print(f"  survey alone (read + spreads)         {stats(survey)}")
    print(f"  ... on physical values instead        {stats(survey_physical)}")
    ratio = statistics.median(times["with survey"]) / statistics.median(times["lean reference"])
    print(f"  ratio with survey / lean reference: {ratio:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
