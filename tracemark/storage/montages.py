"""The user's saved montages: one JSON file per montage in a folder of the user's data.

A montage (:class:`tracemark.dsp.montage.Montage`) is saved by name and loaded back to
apply to another recording of the same set-up. File names are a readable part of the
montage's name plus a hash of it, so any name is safe on any file system and two names
never share a file. Saving replaces a file atomically (:mod:`.atomic`). A file that
cannot be read is skipped when listing and raises :class:`MontageError` when loaded.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path

from platformdirs import user_data_dir

from tracemark.dsp.montage import Montage, MontageError

from . import atomic

__all__ = ["MontageLibrary", "default_montage_dir"]


def default_montage_dir() -> Path:
    """Where the user's saved montages live: ``<user data dir>/tracemark/montages``."""
    return Path(user_data_dir("tracemark", appauthor=False)) / "montages"


_UNSAFE = re.compile(r"[^A-Za-z0-9._ -]+")


def _file_stem(name: str) -> str:
    # Readable part for people browsing the folder, hash for uniqueness: "a/b" and "a:b"
    # sanitise alike, and case-insensitive file systems would merge "EEG" and "eeg".
    readable = _UNSAFE.sub("_", name).strip(" .")[:60] or "montage"
    digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[:10]
    return f"{readable}-{digest}"


class MontageLibrary:
    """Saved montages, one JSON file each, in ``folder`` (created on first save)."""

    def __init__(self, folder: str | os.PathLike[str] | None = None) -> None:
        self.folder = Path(folder) if folder is not None else default_montage_dir()

    def path_for(self, name: str) -> Path:
        return self.folder / f"{_file_stem(name)}.json"

    def save(self, montage: Montage) -> Path:
        """Write ``montage`` (replacing one of the same name); returns the file path."""
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.path_for(montage.name)
        atomic.write_text(path, json.dumps(montage.to_dict(), indent=1, ensure_ascii=False))
        return path

    def load(self, name: str) -> Montage:
        """The montage saved as ``name``; :class:`MontageError` if absent or unreadable."""
        path = self.path_for(name)
        if not path.is_file():
            raise MontageError(f"no montage named {name!r} in {self.folder}")
        montage = self._read(path)
        if montage.name != name:
            raise MontageError(f"{path} holds montage {montage.name!r}, not {name!r}")
        return montage

    @staticmethod
    def _read(path: Path) -> Montage:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise MontageError(f"cannot read montage file {path}: {exc}") from None
        if not isinstance(data, dict):
            raise MontageError(f"{path} is not a montage file")
        try:
            return Montage.from_dict(data)
        except MontageError as exc:
            raise MontageError(f"{path}: {exc}") from None

    def names(self) -> list[str]:
        """Names of the readable montages in the folder, sorted case-insensitively."""
        if not self.folder.is_dir():
            return []
        found = []
        for path in self.folder.glob("*.json"):
            if atomic.TEMPORARY_MARK in path.name:
                continue  # another process's save in progress
            try:
                found.append(self._read(path).name)
            except MontageError:
                continue  # a damaged file is skipped, not fatal to the whole list
        return sorted(found, key=lambda n: (n.casefold(), n))

    def delete(self, name: str) -> bool:
        """Remove the montage saved as ``name``; returns whether there was one."""
        path = self.path_for(name)
        if path.is_file():
            path.unlink()
            return True
        return False

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.path_for(name).is_file()
