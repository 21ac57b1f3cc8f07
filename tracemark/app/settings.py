"""What Tracemark remembers between runs, through QSettings: recent files, window layout,
preferences (peak latency window, examiner name, rater name, first sensitivity per channel
type) and whether the first-run hint was dismissed. One small typed wrapper so that keys and
defaults live in one place.

QSettings follows the platform (on Linux an INI file under ``$XDG_CONFIG_HOME``); tests
point that variable at a temporary folder.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from PyQt6.QtCore import QByteArray, QSettings

ORGANISATION = "Tracemark"
APPLICATION = "Tracemark"
MAX_RECENT = 10
DEFAULT_PEAK_WINDOW = (15.0, 50.0)


def default_qsettings() -> QSettings:
    """The user's settings. On Linux the INI file under ``$XDG_CONFIG_HOME`` is named
    explicitly, because Qt reads that variable only once per process (tests change it)."""
    if sys.platform.startswith("linux"):
        home = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
        path = Path(home) / ORGANISATION / f"{APPLICATION}.conf"
        return QSettings(str(path), QSettings.Format.IniFormat)
    return QSettings(ORGANISATION, APPLICATION)


def default_rater() -> str:
    """The operating-system user's name ("rater" when the system will not say)."""
    import getpass

    try:
        return getpass.getuser() or "rater"
    except (KeyError, OSError):
        return "rater"


class Settings:
    def __init__(self, qsettings: QSettings | None = None):
        self.q = qsettings or default_qsettings()

    # -- recent files ------------------------------------------------------------------------
    def recent_files(self) -> list[str]:
        value = self.q.value("recent/files", [])
        if isinstance(value, str):
            value = [value]
        return [str(v) for v in (value or []) if v]

    def add_recent(self, path: str | Path) -> list[str]:
        path = str(Path(path).absolute())
        files = [path] + [p for p in self.recent_files() if p != path]
        files = files[:MAX_RECENT]
        self.q.setValue("recent/files", files)
        return files

    def remove_recent(self, path: str | Path) -> None:
        path = str(Path(path).absolute())
        self.q.setValue("recent/files", [p for p in self.recent_files() if p != path])

    def clear_recent(self) -> None:
        self.q.setValue("recent/files", [])

    # -- preferences -------------------------------------------------------------------------
    def peak_window_ms(self) -> tuple[float, float]:
        try:
            start = float(self.q.value("preferences/peak_window_start_ms", DEFAULT_PEAK_WINDOW[0]))
            stop = float(self.q.value("preferences/peak_window_stop_ms", DEFAULT_PEAK_WINDOW[1]))
        except (TypeError, ValueError):
            return DEFAULT_PEAK_WINDOW
        return (start, stop) if 0 <= start < stop else DEFAULT_PEAK_WINDOW

    def set_peak_window_ms(self, start: float, stop: float) -> None:
        self.q.setValue("preferences/peak_window_start_ms", float(start))
        self.q.setValue("preferences/peak_window_stop_ms", float(stop))

    def examiner(self) -> str:
        return str(self.q.value("preferences/examiner", "") or "")

    def set_examiner(self, name: str) -> None:
        self.q.setValue("preferences/examiner", name.strip())

    def rater(self) -> str:
        """The name this person rates under on caches with several raters (``--rater``);
        the operating-system user until one is chosen."""
        return str(self.q.value("preferences/rater", "") or "").strip() or default_rater()

    def set_rater(self, name: str) -> None:
        self.q.setValue("preferences/rater", name.strip())

    def sensitivities(self) -> dict[str, float]:
        """The user's first sensitivity per channel type (µV/mm); a type left out is
        measured from each recording's data."""
        from tracemark.domain.channel_types import CHANNEL_TYPES

        chosen = {}
        for channel_type in CHANNEL_TYPES:
            try:
                value = float(self.q.value(f"preferences/sensitivity_{channel_type}", 0.0) or 0.0)
            except (TypeError, ValueError):
                continue
            if value > 0:
                chosen[channel_type] = value
        return chosen

    def set_sensitivities(self, chosen: dict[str, float]) -> None:
        from tracemark.domain.channel_types import CHANNEL_TYPES

        for channel_type in CHANNEL_TYPES:
            value = chosen.get(channel_type)
            if value:
                self.q.setValue(f"preferences/sensitivity_{channel_type}", float(value))
            else:
                self.q.remove(f"preferences/sensitivity_{channel_type}")

    # -- first run ---------------------------------------------------------------------------
    def hint_dismissed(self) -> bool:
        return str(self.q.value("first_run/hint_dismissed", "false")).lower() == "true"

    def set_hint_dismissed(self, dismissed: bool = True) -> None:
        self.q.setValue("first_run/hint_dismissed", "true" if dismissed else "false")

    # -- layout --------------------------------------------------------------------------------
    def save_layout(self, name: str, value: QByteArray) -> None:
        self.q.setValue(f"layout/{name}", value)

    def layout(self, name: str) -> QByteArray | None:
        value = self.q.value(f"layout/{name}")
        return value if isinstance(value, QByteArray) and not value.isEmpty() else None

    def sync(self) -> None:
        self.q.sync()
