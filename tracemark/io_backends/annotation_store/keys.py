"""Which annotation file belongs to which recording: the recording's key, and the file's
default place.

A recording on disk is keyed by its *content*, so that a recording that is moved, renamed
or copied to another machine keeps its marks, and a different recording saved under the
same name does not inherit them. The key is a SHA-256 over the file's size and its first
and last MiB, not over the whole file: hashing a 24-hour recording of several gigabytes
takes minutes, and the key is computed every time a recording is opened. Size, header
(patient, start time, channel table) and the last samples together tell recordings apart
in practice; two files that agree on all three are copies of one recording. A recording
that is a folder (formats read by neo) is keyed by each file's name, size, head and tail.

A remote recording is keyed by its URL: reading its content would cost a download, and
the URL already names it. The URL is hashed too, since the key is also a file name and
the journal's header field (plain ASCII, no spaces).
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Callable
from pathlib import Path

from platformdirs import user_data_dir

from tracemark.io_backends.errors import RecordingError

#: How much of each end of a file the key covers.
SAMPLED_BYTES = 1 << 20
#: Files of a folder recording the key covers, in name order (a folder of thousands of
#: small files would otherwise cost as much as a full hash).
MAX_FOLDER_FILES = 256
#: The annotation file's suffix.
SUFFIX = ".tmannot"


def recording_key(recording: str | os.PathLike[str]) -> str:
    """A stable key of ``recording`` (a file, a folder or a URL): ``file-<sha256>`` or
    ``url-<sha256>``. Raises :class:`RecordingError` when the file cannot be read."""
    text = os.fspath(recording)
    if "://" in text:
        return "url-" + hashlib.sha256(text.strip().encode("utf-8")).hexdigest()
    path = Path(text)
    digest = hashlib.sha256()
    try:
        info = path.stat()
        if stat.S_ISDIR(info.st_mode):
            _hash_folder(path, digest.update)
        elif stat.S_ISREG(info.st_mode):
            _hash_file(path, info.st_size, digest.update)
        else:
            raise RecordingError(path, "is not a regular file or folder; recordings are read "
                                       "from files")
    except FileNotFoundError:
        raise RecordingError(path, "no such file") from None
    except OSError as error:
        raise RecordingError(path, f"cannot be read ({error.strerror or error})") from error
    return "file-" + digest.hexdigest()


def _hash_file(path: Path, size: int, update: Callable[[bytes], object]) -> None:
    update(b"%d\n" % size)
    with open(path, "rb") as handle:
        update(handle.read(SAMPLED_BYTES))
        if size > SAMPLED_BYTES:
            handle.seek(max(SAMPLED_BYTES, size - SAMPLED_BYTES))
            update(handle.read(SAMPLED_BYTES))


def _hash_folder(folder: Path, update: Callable[[bytes], object]) -> None:
    files = sorted(p for p in folder.rglob("*") if p.is_file())[:MAX_FOLDER_FILES]
    for file in files:
        update(file.relative_to(folder).as_posix().encode("utf-8") + b"\n")
        _hash_file(file, file.stat().st_size, update)


def annotation_folder() -> Path:
    """Where annotation files live unless the person picks another place."""
    return Path(user_data_dir("tracemark", appauthor=False)) / "annotations"


def default_annotation_path(recording: str | os.PathLike[str]) -> Path:
    """``<user data dir>/tracemark/annotations/<key>.tmannot`` for ``recording``."""
    return annotation_folder() / f"{recording_key(recording)}{SUFFIX}"
