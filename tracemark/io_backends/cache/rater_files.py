"""The files of a cache's raters, and how one rater's journal folds into their values.

Beside ``X.h5`` the folder ``X.h5.raters/`` holds, per rater, ``<slug>.journal`` (the
cache's journal format, :mod:`.journal`, its header naming the cache's id) and
``<slug>.journal.lock`` (:class:`~.lock.WriterLock`), plus ``legacy.json``: the values the
cache held before it had raters, attributed to one rater (see ``docs/cache-format.md``,
"Raters"). The folder is created whole, ``legacy.json`` inside, by one rename, so a
reader never sees a folder without it.

Each journal record's note is a small JSON object naming the rater (``{"rater": "alice"}``,
plus ``"note"`` for the person's note and ``"status": "finished"`` for the record that
marks the rater finished), so that the exact name round-trips whatever the file is called.

What lives here is what the session (:mod:`.raters`), the reading of every rater
(:mod:`.raters`) and the consensus (:mod:`.consensus`) share. Writes only the folder and
``legacy.json``; journals are written by the session.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import operator
import os
import re
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from tracemark.domain import trace_attributes as keys

from . import fsops, schema
from .cachefile import CacheFile
from .errors import CacheError, CacheIndexError, CacheValueError, JournalError
from .journal import JournalReader, Record

#: The rater keys: reject, reviewed, onset shift, the peaks and the comment.
RATER_KEYS: tuple[str, ...] = keys.RATER_KEYS
FOLDER_SUFFIX = ".raters"
JOURNAL_SUFFIX = ".journal"
LEGACY_FILE = "legacy.json"
#: The journal header's id when the cache had none (an offspect-made file) when the rater
#: started; accepted beside any cache id, since the folder's name already ties it to the cache.
NO_CACHE_ID = "no-cache-id"
#: The name of the one rater of a cache from before raters, when its history names nobody.
DEFAULT_LEGACY_RATER = "rater 1"
FINISHED = "finished"
UNFINISHED = "unfinished"

TraceName = tuple[str, str]
#: Stored strings per trace: ``{(origin, trace): {key: stored}}``.
StoredValues = dict[TraceName, dict[str, str]]


def raters_folder(cache_path: Path) -> Path:
    return cache_path.with_name(cache_path.name + FOLDER_SUFFIX)


def check_rater_name(name: object, where: Path | None = None) -> str:
    """``name`` when it can name a rater (printable text of 1 to 200 characters, without
    blanks at either end); else :class:`CacheValueError`."""
    if not isinstance(name, str) or not name.strip():
        raise CacheValueError(where, f"a rater needs a name, not {name!r}")
    if name != name.strip() or not name.isprintable() or len(name) > 200:
        raise CacheValueError(where, f"{name!r} cannot name a rater (printable text of at most "
                                     f"200 characters, no blanks at either end)")
    return name


def slug(name: str) -> str:
    """A file name for rater ``name``: its safe characters, then a short hash of the exact
    name, so that ``Alice`` and ``alice`` (or ``a/b`` and ``a_b``) never share a file."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", name)[:40].strip("._") or "rater"
    return f"{safe}-{hashlib.sha256(name.encode('utf-8')).hexdigest()[:10]}"


def rater_journal_path(cache_path: Path, name: str) -> Path:
    return raters_folder(cache_path) / f"{slug(name)}{JOURNAL_SUFFIX}"


# -- notes ------------------------------------------------------------------------------------
def note_text(rater: str, note: str = "", status: str | None = None) -> str:
    body: dict[str, str] = {"rater": rater}
    if note:
        body["note"] = note
    if status:
        body["status"] = status
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))


def read_note(record: Record) -> dict[str, str]:
    """The note of a rater's record as a dict (empty when it is not one)."""
    try:
        body = json.loads(record.note)
    except ValueError:
        return {}
    if not isinstance(body, dict) or not all(isinstance(v, str) for v in body.values()):
        return {}
    return body


def is_status_record(record: Record) -> bool:
    """A record that marks the rater finished (or not): no values, not undoable."""
    return not record.changes and read_note(record).get("status") in (FINISHED, UNFINISHED)


# -- the cache's facts -------------------------------------------------------------------------
@dataclass
class CacheFacts:
    """What the raters need of a cache, read once: its id, trace names and contexts."""

    path: Path
    cache_id: str | None
    names: list[TraceName]
    index_of: dict[TraceName, int]
    contexts: dict[str, schema.TraceContext]

    @classmethod
    def of(cls, cache: CacheFile) -> CacheFacts:
        names = [cache.trace_origin(i) for i in range(len(cache))]
        contexts = {origin: cache.trace_context(cache.origin_range(origin)[0])
                    for origin in cache.origins if len(cache.origin_range(origin))}
        # The id the cache's journal and files carry (the reader knows it from the file).
        cache_id = cache._reader.cache_id
        return cls(cache.path, cache_id, names, {n: i for i, n in enumerate(names)}, contexts)

    def journal_id_fits(self, found: str | None) -> bool:
        return found == NO_CACHE_ID or (found is not None and found == self.cache_id)

    def locate(self, index: int) -> TraceName:
        try:  # numpy integers too, as views hand them out; never a bool
            if isinstance(index, bool):
                raise TypeError
            position = operator.index(index)
        except TypeError:
            raise CacheValueError(self.path, f"{index!r} is not a trace index") from None
        if not 0 <= position < len(self.names):
            raise CacheIndexError(self.path, f"trace index {position} is out of range "
                                             f"0..{len(self.names) - 1}")
        return self.names[position]


# -- the values from before raters ------------------------------------------------------------
def has_decision(stored: dict[str, str]) -> bool:
    """Whether plain values hold anything a person decided: reviewed or rejected, a shift,
    a peak or a comment (a freshly built trace holds none)."""
    typed = {k: schema.decode(k, v) for k, v in stored.items()}
    if keys.is_rejected(typed) or keys.is_reviewed(typed) or keys.onset_shift_of(typed):
        return True
    if typed.get(keys.COMMENT):
        return True
    return any(typed.get(k) is not None for k in RATER_KEYS
               if k not in (keys.REJECT, keys.REVIEWED, keys.ONSET_SHIFT, keys.COMMENT))


def legacy_values(cache: CacheFile, facts: CacheFacts) -> tuple[str | None, StoredValues]:
    """The rater the plain values of a cache without raters are attributed to (``None``
    when no trace holds a decision) and those values, for the traces that hold one."""
    columns = cache.load_only([*RATER_KEYS, keys.CONSENSUS_BY], raw=True)
    values: StoredValues = {}
    for index, name in enumerate(facts.names):
        if columns[keys.CONSENSUS_BY][index] is not None:
            continue  # a consensus is no one rater's decision
        stored = {k: columns[k][index] for k in RATER_KEYS if columns[k][index] is not None}
        if has_decision(stored):
            values[name] = stored
    if not values:
        return None, {}
    users = {record.user for record in cache.history() if record.changes}
    return (users.pop() if len(users) == 1 else DEFAULT_LEGACY_RATER), values


@dataclass
class Legacy:
    rater: str | None = None
    values: StoredValues = field(default_factory=dict)
    problem: str | None = None

    def values_of(self, rater: str) -> StoredValues:
        """A copy of the values from before raters when ``rater`` is theirs, else none."""
        if rater != self.rater:
            return {}
        return {trace: dict(stored) for trace, stored in self.values.items()}


def read_legacy_file(folder: Path) -> Legacy:
    path = folder / LEGACY_FILE
    try:
        body = json.loads(path.read_bytes())
        rater = body["rater"]
        values = {(str(o), str(t)): {str(k): str(v) for k, v in stored.items()}
                  for o, t, stored in body["values"]}
        if rater is not None and not isinstance(rater, str):
            raise ValueError("rater is not text")
    except FileNotFoundError:
        return Legacy(problem=f"{path.name} is missing: the values from before raters are "
                              f"not attributed to anyone")
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        return Legacy(problem=f"{path.name} cannot be read ({error}); the values from before "
                              f"raters are not attributed to anyone")
    return Legacy(rater, values)


def ensure_folder(cache: CacheFile, facts: CacheFacts) -> Path:
    """The raters folder, created if missing with ``legacy.json`` inside, in one rename: a
    reader sees no folder or a complete one. Two processes creating it at once both
    succeed; the first rename wins and the other's copy is dropped (same content)."""
    folder = raters_folder(facts.path)
    if folder.is_dir():
        return folder
    rater, values = legacy_values(cache, facts)
    body = {"cache_id": facts.cache_id, "rater": rater,
            "values": [[o, t, stored] for (o, t), stored in values.items()]}
    staging = folder.with_name(f"{folder.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    try:
        staging.mkdir()
        fsops.create_file(staging / LEGACY_FILE,
                          json.dumps(body, ensure_ascii=False).encode("utf-8"))
        try:
            os.rename(staging, folder)
        except OSError:
            if not folder.is_dir():
                raise
        fsops.fsync_dir(folder.parent)
    except OSError as error:
        raise CacheError(folder, f"cannot be created ({error.strerror or error}); "
                                 f"nothing was written") from error
    finally:
        with contextlib.suppress(OSError):
            shutil.rmtree(staging)
    return folder


# -- one rater's journal ------------------------------------------------------------------------
@dataclass
class RaterLog:
    """One rater's journal folded: their stored values and whether they finished."""

    name: str
    path: Path
    records: list[Record] = field(default_factory=list)
    values: StoredValues = field(default_factory=dict)
    finished: bool = False
    last_seq: int = 0
    #: The id in the journal's header (``None`` while there is no journal).
    journal_id: str | None = None
    #: The journal file read (its inode) and the offset reading stopped at, to resume from.
    ino: int = -1
    end: int = 0

    def apply(self, record: Record) -> None:
        for change in record.changes:
            trace = self.values.setdefault((change.origin, change.trace), {})
            if change.new is None:
                trace.pop(change.key, None)
            else:
                trace[change.key] = change.new
        status = read_note(record).get("status")
        if status in (FINISHED, UNFINISHED):
            self.finished = status == FINISHED
        self.records.append(record)
        self.last_seq = max(self.last_seq, record.seq)


def read_log(path: Path, facts: CacheFacts, legacy: Legacy, resume: RaterLog | None = None
             ) -> tuple[RaterLog | None, str | None]:
    """A rater's journal folded, read only and without a lock, over the values from before
    raters when it is the journal of the rater they are attributed to; ``(None, problem)``
    when it cannot be followed. ``resume``: this journal's log as an earlier call returned
    it (folded over the same cache and legacy values); it is continued in place from where
    that call stopped, unless the file was replaced or cut back, which reads it anew."""
    reader = JournalReader(path)
    try:
        if not reader.open_if_present():
            return None, None
        if not facts.journal_id_fits(reader.cache_id):
            return None, (f"{path.name} belongs to another cache (id {reader.cache_id}); "
                          f"not read")
        identity = os.stat(path)
        # Continue only where the same file still ends its last read record there (a file
        # copied over this one in place keeps its inode, not its records).
        last = resume.records[-1] if resume is not None and resume.records else None
        if (resume is not None and last is not None and resume.ino == identity.st_ino
                and resume.end <= identity.st_size
                and getattr(reader.record_at(last.offset), "tx", None) == last.tx):
            reader.seek(resume.end)
        else:
            resume = None
        records = reader.poll(after_seq=resume.last_seq if resume is not None else 0)
        damage, journal_id, end = reader.damage, reader.cache_id, reader.end
    except (JournalError, OSError) as error:
        return None, f"{path.name} cannot be read ({error}); not read"
    finally:
        reader.close()
    log = resume
    if log is None:
        names = [read_note(r).get("rater") for r in records]
        name = next((n for n in names if n), None)
        if name is None:
            return None, f"{path.name} names no rater; not read" if records else None
        log = RaterLog(name, path, values=legacy.values_of(name), journal_id=journal_id)
    for record in records:
        if any((c.origin, c.trace) not in facts.index_of for c in record.changes):
            damage = (f"record #{record.seq} names a trace this cache does not hold; it and "
                      f"later records are not read")
            break
        log.apply(record)
    log.ino, log.end = identity.st_ino, end
    return log, (f"{path.name}: {damage}" if damage else None)
