"""Start-up loads only what the first page needs.

A person who opens a recording to look at it must not wait for the libraries of work
they have not started: the trace cache (h5py and the cache package), the analysis and
plots (the trace editor, built with the window, needs only the pure-numpy peak picking of
``tracemark.analysis.peaks``), scipy (filters, peak fitting, spectra), pynwb and neo. Each is imported when it is
first used. A child process opens a TRC recording in the main window, waits for its first
page, and lists which of those modules it had loaded when that page was drawn; the list
must be empty. (Work that starts once the page is on screen, such as opening the person's
annotation file, may load them then.)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np

from tracemark.demo.trc_writer import write_trc_array

#: Modules a recording's first page must not load (each is checked with its submodules).
NOT_AT_START = ("scipy", "h5py", "pynwb", "neo", "pandas", "numpy.ma", "importlib.metadata",
                "tracemark.io_backends.cache",
                "tracemark.analysis.average", "tracemark.analysis.measures", "tracemark.analysis.map",
                "tracemark.analysis.recruitment", "tracemark.analysis.traces", "tracemark.widgets.plots",
                "tracemark.app.annotation_session", "tracemark.app.review_controller",
                "tracemark.app.plot_data", "tracemark.widgets.viewer.page_export",
                "tracemark.io_backends.segment_export")

CHILD = textwrap.dedent("""
    import json, sys, time
    from pathlib import Path
    from PyQt6.QtWidgets import QApplication

    app = QApplication([])
    from tracemark.app.main_window import MainWindow

    watched = json.loads(sys.argv[2])
    loaded = None

    def first_page(result):
        # What is loaded at the moment the first page is drawn; work that starts after
        # it (the overview summary, the person's marks) may load more.
        global loaded
        if loaded is None and result.origin != "pending":
            loaded = sorted(name for name in sys.modules
                            if any(name == w or name.startswith(w + ".") for w in watched))

    window = MainWindow()
    window.show()
    window.viewer.page_drawn.connect(first_page)
    assert window.open_path(Path(sys.argv[1]))
    end = time.monotonic() + 60
    while loaded is None and time.monotonic() < end:
        app.processEvents()
        time.sleep(0.001)
    print(json.dumps({"page": loaded is not None, "loaded": loaded or []}))
    window.close()
""")


def test_first_page_of_a_recording_loads_no_cache_analysis_or_scipy(tmp_path):
    rng = np.random.default_rng(0)
    path = write_trc_array(tmp_path / "look.TRC", rng.normal(0, 30, (256 * 30, 8)).astype(np.float32),
                           sampling_rate=256.0)
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    done = subprocess.run([sys.executable, "-c", CHILD, str(path), json.dumps(NOT_AT_START)],
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["page"], "the first page was not drawn"
    roots = sorted({w for w in NOT_AT_START for name in report["loaded"]
                    if name == w or name.startswith(w + ".")})
    assert roots == [], f"loaded at start-up: {roots}"
