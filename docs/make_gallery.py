"""Make ``docs/gallery.md``: the first screen Tracemark shows for each kind of recording,
and the reading tools (cursors, measurements, spectra) on a real one.

Each picture is what a person sees on opening the file, with no key pressed, taken by
``tracemark FILE --snapshot PNG --screen WxH`` (offscreen, in a window sized for that
screen). The recordings are the public files in ``../shared/data`` (see its README);
the TMS demo is generated. Run from the repository root:

    .venv/bin/python docs/make_gallery.py

It rewrites ``docs/gallery.md`` and the pictures in ``docs/images/gallery/``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
IMAGES = ROOT / "docs" / "images" / "gallery"

#: (kind, file under ../shared/data or "demo", screen, what it is)
PICTURES = (
    ("EDF", "edf/mne-testing-data_test_edf_overlapping_annotations.edf", "1920x1080",
     "Real EEG (BCI2000 via EDF+C), 64 channels at 128 Hz, 38 overlapping annotations"),
    ("EDF", "edf/pyedflib_test_generator.edf", "1366x768",
     "EDFbrowser's test generator: 11 signals of very different shapes, one scale per type"),
    ("BDF", "edf/mne-python_test_bdf_stim_channel.bdf", "1920x1080",
     "BioSemi BDF, 3 EEG channels far from zero and a Status channel shown as events"),
    ("BDF", "edf/pyedflib_test_generator.bdf", "1366x768",
     "BDF+ with five signals at five rates; it opens on the fastest stream"),
    ("NWB", "nwb/NWBShowcase_FergusonEtAl2015_PYR5_rebound.nwb", "1920x1080",
     "Whole-cell current clamp (volts), 10 kHz: a rebound burst"),
    ("NWB", "nwb/DERIVED_eeg64ch_128Hz_from_mne-testing-data_edf.nwb", "1366x768",
     "64-channel EEG ElectricalSeries with epochs and an annotations table"),
    ("TRC", "trc/synthetic_eeg19_256Hz_b2_60s.TRC", "1920x1080",
     "Micromed TRC, 19 channels of 10-20 EEG with triggers and notes"),
    ("TRC", "demo", "1366x768",
     "The TMS demo: recording and trace cache side by side on a 1366x768 laptop screen"),
)


def picture_name(source: str, screen: str) -> str:
    stem = "demo" if source == "demo" else Path(source).name.replace(".", "_")
    return f"{stem}-{screen}.png"


def snapshot(paths: list[str], out: Path, screen: str) -> None:
    command = [sys.executable, "-m", "tracemark.app.cli", *paths, "--snapshot", str(out),
               "--screen", screen]
    subprocess.run(command, check=True, cwd=ROOT)


#: The reading tools on a real recording: (file, screen, cursor A and B in seconds, caption).
READING_TOOLS = ("edf/mne-testing-data_test_edf_overlapping_annotations.edf", "1920x1080", (2.9, 5.0),
                 "Cursors A and B placed around two blinks (Measure menu, Ctrl/Shift+click or keys "
                 "1 and 2): the Measurements panel lists A, B, B - A per channel with Δt and 1/Δt. "
                 "The Power spectrum dock (Ctrl+Shift+F) and the Time-frequency dock (Ctrl+Shift+T) "
                 "follow the A-B span and the selected channel")


def reading_tools() -> list[str]:
    source, screen, (a_s, b_s), what = READING_TOOLS
    path = DATA / source
    if not path.is_file():
        print(f"skipped the reading tools: {source} is not in {DATA}", file=sys.stderr)
        return []
    name = f"reading-tools-{Path(source).stem}-{screen}.png"
    subprocess.run([sys.executable, str(ROOT / "docs" / "reading_tools_snapshot.py"), str(path),
                    str(IMAGES / name), "--screen", screen, "--cursors", str(a_s), str(b_s)],
                   check=True, cwd=ROOT)
    return ["# Reading tools", "", f"{what}. {path.name}, screen {screen}.", "",
            f"![Cursors, measurements and spectra on {path.name}](images/gallery/{name})", ""]


def main() -> int:
    IMAGES.mkdir(parents=True, exist_ok=True)
    lines = ["# Gallery: the first screen of each kind of recording", "",
             "What Tracemark shows on opening each file, before any key is pressed. Made by",
             "`docs/make_gallery.py` from the public recordings in `../shared/data` (see its",
             "README) and the built-in demo; each picture is the whole window on a screen of the",
             "size given.", ""]
    for kind, source, screen, what in PICTURES:
        if source == "demo":
            from tracemark.app.demo_session import ensure_demo_session

            demo = ensure_demo_session()
            paths = [str(demo.recording), str(demo.cache)]
            title = "demo (TRC + trace cache)"
        else:
            path = DATA / source
            if not path.is_file():
                print(f"skipped {source}: not in {DATA}", file=sys.stderr)
                continue
            paths, title = [str(path)], path.name
        name = picture_name(source, screen)
        snapshot(paths, IMAGES / name, screen)
        lines += [f"## {kind}: {title}", "", f"{what}. Screen {screen}.", "",
                  f"![{kind}: {title}](images/gallery/{name})", ""]
    lines += reading_tools()
    (ROOT / "docs" / "gallery.md").write_text("\n".join(lines), encoding="utf-8")
    print(f"wrote {ROOT / 'docs' / 'gallery.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
