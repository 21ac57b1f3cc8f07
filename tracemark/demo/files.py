"""The built-in demo recording on disk: generated once into the user's data folder.

``ensure_demo_files()`` writes the demo session (see :mod:`tracemark.demo.synth`) as a
Micromed TRC and an NWB file the first time it is called and returns their paths after
that. Files are written under temporary names and renamed into place
(:mod:`tracemark.storage.atomic`), so an interrupted first run never leaves a
half-written demo behind, and two instances starting at once both end up with complete
files.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

from platformdirs import user_data_dir

from tracemark.storage import atomic

from .synth import TRIGGER_CODE, TRIGGER_LABEL, SyntheticSession, demo_session

#: Bump when the demo's content changes, so old copies are regenerated.
DEMO_VERSION = 1
DEMO_START = datetime(2024, 5, 14, 9, 30, 0)


@dataclass(frozen=True)
class DemoFiles:
    folder: Path
    trc: Path
    nwb: Path
    trials_json: Path


def demo_folder() -> Path:
    return Path(user_data_dir("tracemark", appauthor=False)) / "demo"


def ensure_demo_files(folder: str | os.PathLike | None = None) -> DemoFiles:
    """Paths of the demo TRC and NWB files, generating whichever is missing."""
    folder = Path(folder) if folder is not None else demo_folder()
    stem = f"tracemark-demo-v{DEMO_VERSION}"
    files = DemoFiles(folder, folder / f"{stem}.TRC", folder / f"{stem}.nwb", folder / f"{stem}.trials.json")
    session = None
    for path, writer in ((files.trc, write_demo_trc), (files.nwb, write_demo_nwb),
                         (files.trials_json, write_trials_json)):
        if not path.exists():
            session = session or demo_session()
            folder.mkdir(parents=True, exist_ok=True)
            # The writers refuse to overwrite: the temporary's name is fresh, not yet a file.
            with atomic.Replacement(path) as replacement:
                writer(replacement.temporary, session)
    return files


def write_demo_trc(path: Path, session: SyntheticSession) -> None:
    from .trc_writer import write_trc

    write_trc(path, session.chunks(), channel_names=session.channel_names,
              sampling_rate=session.sampling_rate, n_samples=session.n_samples,
              units=session.units, bytes_per_sample=2, physical_range=session.physical_range_uv,
              start_datetime=DEMO_START,
              triggers=[(int(s), TRIGGER_CODE) for s in session.trigger_samples],
              notes=list(session.notes))


def write_demo_nwb(path: Path, session: SyntheticSession) -> None:
    from .nwb_writer import write_nwb

    rate = session.sampling_rate
    events = [(t.sample / rate, 0.0, TRIGGER_LABEL) for t in session.trials]
    events += [(sample / rate, 0.0, text) for sample, text in session.notes]
    write_nwb(path, session.chunks(), channel_names=session.channel_names, sampling_rate=rate,
              n_samples=session.n_samples, units=session.units,
              start_datetime=DEMO_START.replace(tzinfo=timezone.utc), events=events)


def write_trials_json(path: Path, session: SyntheticSession) -> None:
    """The ground truth behind the demo: each pulse's intensity, coil position and response."""
    path.write_text(json.dumps({
        "sampling_rate": session.sampling_rate,
        "trigger_label": TRIGGER_LABEL,
        "trials": [asdict(t) for t in session.trials],
    }, indent=1))
