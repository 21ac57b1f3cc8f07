"""Damaged trace caches: the bad-input corpus for :class:`~tracemark.io_backends.cache.CacheFile`.

A cache is an HDF5 file plus a journal and a lock file beside it (``docs/cache-format.md``),
and annotators keep hours of work in it, so damage to any of the three must neither crash
Tracemark nor lose what is still valid. This module writes one small valid cache
(:func:`write_cache_source`: two origins, sixteen traces, three journal records folded into
the HDF5 file and four more pending in the journal) and derives from it, in ``out_dir``,
one damaged copy per case (:func:`cache_variants`), each with its own companions
(``<case>.hdf5.journal``, ``<case>.hdf5.lock``):

* **bytes**: the HDF5 file truncated at many offsets, bit flips (superblock, seeded ones
  everywhere), 4 KiB of zeros or random bytes over the superblock, object headers, B-trees,
  local and global heaps of this cache and of one as ``tracemark cache build`` writes it
  (where zeros made HDF5 loop for ever), zero length, random bytes, text, an HDF5 signature in front of garbage, a
  folder, a named pipe, the valid file under other suffixes;
* **layout** (valid HDF5, wrong cache): no origins, an origin or ``traces`` that is a
  dataset, a trace that is a group, data of strings, 0-D, 1-D, 3-D, bool, complex,
  compound, empty, a dataset declaring 2**40 unwritten rows, names that are not numbers or
  number twice, broken soft and external links;
* **attributes** of the wrong HDF5 type (numbers, bytes, arrays, empty, compound) or with
  values that do not decode (``"[1, 2"``, ``"yes please"``, NaN, infinity, 10 MB text)
  on traces, origins and the root; **missing** keys; **inconsistent** origins (labels or
  window that do not match the data); caches **from the future** (``tracemark_format``
  99, unknown root attributes, odd ids and sequence numbers);
* **journals**: torn at many offsets, a flipped byte in the last, a middle and a folded
  record, another cache's header, records from another cache, out-of-order and duplicate
  sequence numbers, malformed payloads with a valid checksum, garbage appended, zero
  length, a 4 GB sparse tail, a journal newer or older than the HDF5 file;
* **locks and leftovers**: lock files with garbage, a lock that is a folder, stray
  checkpoint and journal temporaries.

Each case is a :class:`CacheCase`; journal cases also say which journal records a reader
must see (:attr:`CacheCase.visible`) so a test can prove that nothing the HDF5 file holds
is lost and that no record is applied in part. Every record of the source sets
``comment`` and ``examiner`` of two traces to ``r<seq>``, and no two records touch the
same value, so the state shows exactly which records were applied.

h5py and numpy only; the valid source is written with the cache's own API.
"""

from __future__ import annotations

import json
import os
import re
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from .damage import damaged_blocks

__all__ = ["CacheCase", "FOLDED", "PENDING", "cache_variants", "record_value",
           "write_cache_source"]

#: Journal records of the source folded into its HDF5 file, and those only in its journal.
FOLDED = (1, 2, 3)
PENDING = (4, 5, 6, 7)
N_TRACES, N_ORIGINS = 16, 2
HUGE_ROWS = 2**40


def record_value(seq: int) -> str:
    """The value every change of journal record ``seq`` writes."""
    return f"r{seq}"


@dataclass(frozen=True)
class CacheCase:
    """One damaged cache and what was done to it.

    ``visible``: for journal cases, the record numbers whose values a reader must see (all
    of each record's values, none of any other's); ``None`` when the case does not touch
    the journal. ``skipped``: records in the journal are not applied, so the cache must
    say so in ``problems`` and refuse edits. ``repairable``: a writable open may cut the
    journal's damaged tail or replace an empty journal (the crash cases); otherwise the
    journal must come out of every open byte for byte as it went in.
    """

    path: Path
    kind: str
    description: str
    visible: tuple[int, ...] | None = None
    repairable: bool = False
    skipped: bool = False


# -- the valid source --------------------------------------------------------------------------
def write_cache_source(folder: str | Path) -> Path:
    """A valid cache at ``folder/source.hdf5`` with records :data:`FOLDED` in the HDF5 file
    and :data:`PENDING` only in its journal (as after a crash before the checkpoint)."""
    from tracemark.io_backends.cache import CacheFile

    from .cache import abandon, make_cache

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = make_cache(folder / "source.hdf5", n_traces=N_TRACES, n_origins=N_ORIGINS)
    cache = CacheFile(path, mode="w")
    for seq in FOLDED + PENDING:
        traces = (2 * (seq - 1) % N_TRACES, (2 * (seq - 1) + 1) % N_TRACES)
        cache.apply_edits([(t, {"comment": record_value(seq), "examiner": record_value(seq)})
                           for t in traces])
        if seq == FOLDED[-1]:
            cache.checkpoint()
    abandon(cache)
    lock = path.with_name(path.name + ".lock")
    if lock.exists():
        lock.unlink()
    return path


# -- the corpus ----------------------------------------------------------------------------------
class _Corpus:
    def __init__(self, source: Path, out_dir: Path):
        self.source, self.out_dir = source, out_dir
        self.h5 = source.read_bytes()
        self.journal = _journal(source).read_bytes()
        self.cases: list[CacheCase] = []
        out_dir.mkdir(parents=True, exist_ok=True)

    def path(self, case_id: str, suffix: str = ".hdf5") -> Path:
        path = self.out_dir / f"cache~{re.sub(r'[^A-Za-z0-9.=+-]+', '_', case_id)}{suffix}"
        if path.exists() or any(c.path == path for c in self.cases):
            raise ValueError(f"cache damage case {case_id!r} is made twice")
        return path

    def add(self, path: Path, kind: str, description: str, **expect) -> Path:
        self.cases.append(CacheCase(path, kind, description, **expect))
        return path

    def bytes_case(self, case_id: str, kind: str, description: str, data: bytes,
                   suffix: str = ".hdf5", journal: bool = False) -> None:
        path = self.path(case_id, suffix)
        path.write_bytes(data)
        if journal:
            _journal(path).write_bytes(self.journal)
        self.add(path, kind, description)

    def copy(self, case_id: str, journal: bytes | None = None) -> Path:
        """The valid HDF5 file under a new name, with ``journal`` beside it (or none)."""
        path = self.path(case_id)
        path.write_bytes(self.h5)
        if journal is not None:
            _journal(path).write_bytes(journal)
        return path

    def h5_case(self, case_id: str, kind: str, description: str,
                edit: Callable[[h5py.File], None]) -> None:
        """A copy of the HDF5 file (without its journal) changed with h5py."""
        path = self.copy(case_id)
        with h5py.File(path, "r+") as f:
            edit(f)
        self.add(path, kind, description)

    def journal_case(self, case_id: str, description: str, journal: bytes,
                     visible: tuple[int, ...], repairable: bool = False,
                     h5: bytes | None = None, skipped: bool | None = None) -> Path:
        """``skipped`` defaults to: some record of the source is not visible and the
        damage is no torn tail."""
        path = self.path(case_id)
        path.write_bytes(self.h5 if h5 is None else h5)
        _journal(path).write_bytes(journal)
        visible = tuple(sorted(set(visible)))
        if skipped is None:
            skipped = not repairable and visible != FOLDED + PENDING
        return self.add(path, "journal", description, visible=visible,
                        repairable=repairable, skipped=skipped)


def _journal(path: Path) -> Path:
    return path.with_name(path.name + ".journal")


def cache_variants(source: str | Path, out_dir: str | Path, *, seed: int = 0,
                   older_h5: bytes | None = None) -> list[CacheCase]:
    """Damaged variants of ``source`` (made by :func:`write_cache_source`) in ``out_dir``.

    ``older_h5``: the source's HDF5 file before its checkpoint, for "journal newer than
    the file"; :func:`cache_variants` makes it itself when not given.
    """
    corpus = _Corpus(Path(source), Path(out_dir))
    rng = np.random.default_rng(seed)
    _byte_cases(corpus, rng)
    _block_cases(corpus, "src", corpus.h5, rng)
    _block_cases(corpus, "built", _built_source(corpus.source.parent), rng)
    _foreign_cases(corpus)
    _layout_cases(corpus)
    _attribute_cases(corpus)
    _root_cases(corpus)
    _journal_cases(corpus, rng, older_h5)
    _lock_cases(corpus)
    return corpus.cases


def _byte_cases(corpus: _Corpus, rng: np.random.Generator) -> None:
    data = corpus.h5
    size = len(data)
    cuts = {1, 4, 8, 16, 40, 48, 56, 64, 96, 128, 200, 256, 512, 800, 1024, 1500, 2048,
            3000, 4096, 6000, 8192, size // 4, size // 3, size // 2, 2 * size // 3,
            3 * size // 4, size - 4096, size - 1024, size - 100, size - 1}
    cuts |= {int(x) for x in np.linspace(0, size, 26)[1:-1]}
    for offset in sorted(o for o in cuts if 0 < o < size):
        corpus.bytes_case(f"cut{offset}", "truncated", f"cut to {offset} of {size} bytes",
                          data[:offset], journal=offset % 2 == 0)
    flips = set(range(0, 96, 3)) | {int(o) for o in rng.integers(96, size, 60)}
    for offset in sorted(flips):
        bit = int(rng.integers(8))
        damaged = bytearray(data)
        damaged[offset] ^= 1 << bit
        corpus.bytes_case(f"flip{offset}.{bit}", "bitflip",
                          f"bit {bit} of byte {offset} flipped", bytes(damaged), journal=True)


def _built_source(folder: Path) -> bytes:
    """A cache as ``tracemark cache build`` writes it (one origin, 36 traces, never
    checkpointed): its global heap sits right after the root's, where 4 KiB of zeros
    made the HDF5 library loop for ever reading a root attribute."""
    from tracemark.io_backends.cache import BuildSpec, build_cache

    from .cache import synthetic_recording

    path = folder / "built.hdf5"
    if not path.exists():
        build_cache([synthetic_recording(36, rate=2048.0)], path,
                    BuildSpec("TMS", 0.1, 0.4, readout="contralateral_mep"))
    return path.read_bytes()


#: Signatures of HDF5's metadata structures: object headers are found through h5py.
_H5_SIGNATURES = (b"TREE", b"HEAP", b"SNOD", b"GCOL", b"OHDR", b"FRHP", b"FHDB", b"BTHD")


def _metadata_offsets(data: bytes, scratch: Path) -> dict[str, int]:
    """Where the superblock, the first few object headers and each kind of metadata
    structure of an HDF5 file start."""
    offsets = {"superblock": 0, "superblock-root": 48, "4830": 4830}
    for signature in _H5_SIGNATURES:
        found = data.find(signature)
        if found >= 0:
            offsets[signature.decode().lower()] = found
    gcol = data.find(b"GCOL")
    if gcol >= 0:
        offsets["gcol-inside"] = gcol + 2048
    scratch.write_bytes(data)
    with h5py.File(scratch, "r") as f:
        origin = f[min(f.keys())]
        traces = origin["traces"]
        for label, obj in (("root-header", f), ("origin-header", origin),
                           ("traces-header", traces), ("trace-header", traces["0"]),
                           ("last-trace-header", traces[max(traces, key=int)])):
            offsets[label] = h5py.h5o.get_info(obj.id).addr
    scratch.unlink()
    return {label: at for label, at in offsets.items() if 0 <= at < len(data)}


def _block_cases(corpus: _Corpus, label: str, data: bytes, rng: np.random.Generator) -> None:
    """4 KiB of zeros or of random bytes over each metadata structure (what a disk
    returns for a lost or garbled block), and cuts there."""
    for where, at in sorted(_metadata_offsets(data, corpus.out_dir / f"scratch-{label}.hdf5"
                                              ).items(), key=lambda item: item[1]):
        for kind, what, damaged in damaged_blocks(data, at, rng):
            corpus.bytes_case(f"{label}.{kind}-{where}@{at}", kind, f"{what} ({where}) of a {label} cache",
                              damaged)
        if at:
            corpus.bytes_case(f"{label}.cut-{where}@{at}", "truncated",
                              f"a {label} cache cut at byte {at} ({where})", data[:at])


def _foreign_cases(corpus: _Corpus) -> None:
    rng = np.random.default_rng(1)
    signature = b"\x89HDF\r\n\x1a\n"
    for case_id, description, data, suffix in [
        ("empty", "zero-length file", b"", ".hdf5"),
        ("empty-h5", "zero-length file named .h5", b"", ".h5"),
        ("random", "4 KB of random bytes", rng.bytes(4096), ".hdf5"),
        ("text", "a text file", b"trace,reject\n0,True\n" * 50, ".hdf5"),
        ("signature-garbage", "HDF5 signature followed by random bytes",
         signature + rng.bytes(4000), ".hdf5"),
        ("signature-only", "only the HDF5 signature", signature, ".hdf5"),
        ("edf", "an EDF header", b"0       " + b" " * 248, ".hdf5"),
        ("zeros", "64 KB of zeros", bytes(1 << 16), ".hdf5"),
    ]:
        corpus.bytes_case(case_id, "foreign", description, data, suffix)
    for suffix in (".h5", ".nwb", ".txt", ""):
        path = corpus.path(f"renamed-{suffix.strip('.') or 'none'}", suffix)
        path.write_bytes(corpus.h5)
        _journal(path).write_bytes(corpus.journal)
        corpus.add(path, "suffix", f"the valid cache named {path.name}",
                   visible=FOLDED + PENDING)
    folder = corpus.path("folder")
    folder.mkdir()
    corpus.add(folder, "foreign", "a folder named like a cache")
    if hasattr(os, "mkfifo"):
        fifo = corpus.path("fifo")
        os.mkfifo(fifo)  # nothing writes to it: opening it for reading would block for ever
        corpus.add(fifo, "foreign", "a named pipe")


def _replace_dataset(group: h5py.Group, name: str, make: Callable[[h5py.Group, str], object]
                     ) -> None:
    attrs = dict(group[name].attrs)
    del group[name]
    new = make(group, name)
    for key, value in attrs.items():
        new.attrs[key] = value


def _data(value) -> Callable[[h5py.Group, str], object]:
    return lambda group, name: group.create_dataset(name, data=value)


def _trace_group(f: h5py.File, origin: int = 0) -> h5py.Group:
    return f[sorted(f.keys())[origin]]["traces"]


def _origin(f: h5py.File, origin: int = 0) -> h5py.Group:
    return f[sorted(f.keys())[origin]]


def _layout_cases(corpus: _Corpus) -> None:
    rows, cols = 150, 2

    def data_case(case_id, description, make, trace="3"):
        corpus.h5_case(case_id, "layout", description,
                       lambda f: _replace_dataset(_trace_group(f), trace, make))

    def drop_origins(f):
        for key in list(f.keys()):
            del f[key]

    def plain(f):
        drop_origins(f)
        for key in list(f.attrs):
            del f.attrs[key]

    def rename(old, new):
        return lambda f: _trace_group(f).move(old, new)

    def group_edit(edit):
        return lambda f: edit(_trace_group(f))

    def compound():
        value = np.zeros(rows, dtype=[("a", "<f4"), ("b", "<f4")])
        return _data(value)

    def huge(group, name):
        return group.create_dataset(name, shape=(HUGE_ROWS, cols), dtype="<f4", chunks=(4096, cols))

    cases = [
        ("no-origins", "root attributes but no origin groups", drop_origins),
        ("plain-hdf5", "an empty HDF5 file: no origins, no root attributes", plain),
        ("origin=dataset", "an origin that is a dataset",
         lambda f: f.create_dataset("zz_origin.trc", data=np.zeros(3))),
        ("origin=no-traces", "an origin without a traces group",
         lambda f: f.create_group("zz_origin.trc")),
        ("traces=dataset", "'traces' is a dataset",
         lambda f: (f.__delitem__(f"{sorted(f.keys())[1]}/traces"),
                    f.create_dataset(f"{sorted(f.keys())[1]}/traces", data=np.zeros((3, 3))))),
        ("traces=empty", "an origin with no traces",
         lambda f: [_trace_group(f, 1).__delitem__(k) for k in list(_trace_group(f, 1))]),
        ("root-dataset", "a dataset at the root beside the origins",
         lambda f: f.create_dataset("notes", data=b"hello")),
        ("name=abc", "a trace named 'abc'", rename("3", "abc")),
        ("name=3a", "a trace named '3a'", rename("3", "3a")),
        ("name=superscript", "a trace named with a superscript digit", rename("3", "\u00b2")),
        ("name=arabic-digit", "a trace named with an Arabic-Indic digit", rename("3", "\u0663")),
        ("name=minus", "a trace named '-1'", rename("3", "-1")),
        ("name=space", "a trace named ' 3'", rename("3", " 3")),
        ("name=huge-number", "a trace named with 40 digits", rename("3", "9" * 40)),
        ("name=duplicate", "traces '3' and '03'",
         group_edit(lambda g: g.copy(g["3"], "03"))),
        ("name=hardlink", "one dataset under two names",
         group_edit(lambda g: g.__setitem__("99", g["3"]))),
        ("link=soft-broken", "a trace that is a soft link to nothing",
         group_edit(lambda g: g.__setitem__("99", h5py.SoftLink("/nowhere")))),
        ("link=external", "a trace that is a link into a missing file",
         group_edit(lambda g: g.__setitem__("99", h5py.ExternalLink("missing.h5", "/x")))),
        ("trace=group", "a trace that is a group",
         group_edit(lambda g: (g.__delitem__("3"), g.create_group("3")))),
    ]
    for case_id, description, edit in cases:
        corpus.h5_case(case_id, "layout", description, edit)
    for case_id, description, make in [
        ("data=strings", "trace data of strings", _data(np.array([b"1.0"] * rows))),
        ("data=vlen-strings", "trace data of variable-length strings",
         lambda g, n: g.create_dataset(n, data=["a"] * rows, dtype=h5py.string_dtype())),
        ("data=scalar", "0-D trace data", _data(np.float32(1.0))),
        ("data=1d", "1-D trace data", _data(np.zeros(rows, "<f4"))),
        ("data=3d", "3-D trace data", _data(np.zeros((rows, cols, 2), "<f4"))),
        ("data=bool", "trace data of booleans", _data(np.zeros((rows, cols), bool))),
        ("data=complex", "complex trace data", _data(np.zeros((rows, cols), complex))),
        ("data=compound", "trace data of a compound type", compound()),
        ("data=int16", "trace data of int16", _data(np.ones((rows, cols), "<i2"))),
        ("data=float64", "trace data of float64", _data(np.ones((rows, cols), "<f8"))),
        ("data=empty", "trace data with 0 rows", _data(np.zeros((0, cols), "<f4"))),
        ("data=nan", "trace data all NaN", _data(np.full((rows, cols), np.nan, "<f4"))),
        ("data=huge", f"trace data declaring {HUGE_ROWS} unwritten rows", huge),
        ("data=3cols", "trace data of 3 columns for 2 channel labels",
         _data(np.zeros((rows, 3), "<f4"))),
        ("data=rows", "trace data of 10 rows more than the window",
         _data(np.zeros((rows + 10, cols), "<f4"))),
    ]:
        data_case(case_id, description, make)


_WRONG_TYPES: list[tuple[str, object]] = [
    ("int", np.int64(1)), ("float", 1.5), ("bool", np.bool_(True)),
    ("array", np.array([1.0, 2.0])), ("bytes", np.bytes_(b"True")),
    ("string-array", np.array([b"a", b"b"])), ("2d", np.zeros((2, 2))),
    ("empty", h5py.Empty("f4")), ("compound", np.array((1, 2.0), dtype=[("a", "i4"), ("b", "f8")])),
    ("non-utf8", np.bytes_(b"\xff\xfe\x00x")),
]
_BAD_TEXT: list[tuple[str, str]] = [
    ("open-list", "[1, 2"), ("yes-please", "yes please"), ("empty", ""), ("nan", "nan"),
    ("inf", "inf"), ("-inf", "-inf"), ("big-int", "9" * 400), ("1e400", "1e400"),
    ("list", "[1, 2, 3, 4]"), ("nested", "[[1], [2]]"), ("quote", "'"),
]
_TRACE_KEYS = ("reject", "onset_shift", "time_since_last_pulse_in_s", "id", "event_time",
               "comment", "xyz_coords", "channel_of_interest", "stimulation_intensity_mso")
_ORIGIN_KEYS = ("channel_labels", "samplingrate", "samples_pre_event", "samples_post_event",
                "readout")


def _attribute_cases(corpus: _Corpus) -> None:
    def set_attr(where, key, value):
        def edit(f):
            target = _trace_group(f)["0"] if where == "trace" else _origin(f)
            target.attrs[key] = value
        return edit

    for where, keys in (("trace", _TRACE_KEYS), ("origin", _ORIGIN_KEYS)):
        for key in keys:
            for label, value in _WRONG_TYPES:
                corpus.h5_case(f"{where}.{key}={label}", "attribute",
                               f"{where} attribute {key} of type {label}",
                               set_attr(where, key, value))
            for label, text in _BAD_TEXT:
                corpus.h5_case(f"{where}.{key}=text-{label}", "attribute",
                               f"{where} attribute {key} = {text[:20]!r}",
                               set_attr(where, key, text))
    for case_id, description, where, key, value in [
        ("huge-comment", "a 10 MB comment", "trace", "comment", "x" * (10 << 20)),
        ("huge-unknown", "a 10 MB unknown attribute", "trace", "legacy", "y" * (10 << 20)),
        ("labels=plain", "channel_labels a plain name", "origin", "channel_labels", "EMG0"),
        ("labels=empty-list", "channel_labels []", "origin", "channel_labels", "[]"),
        ("labels=one", "one channel label for two columns", "origin", "channel_labels",
         "['EMG0']"),
        ("labels=three", "three channel labels for two columns", "origin", "channel_labels",
         "['EMG0', 'EMG1', 'EMG2']"),
        ("labels=yaml", "YAML channel labels", "origin", "channel_labels", "[EMG0, EMG1]"),
        ("rate=zero", "samplingrate 0", "origin", "samplingrate", "0"),
        ("rate=negative", "samplingrate -1000", "origin", "samplingrate", "-1000"),
        ("rate=tiny", "samplingrate 1e-300", "origin", "samplingrate", "1e-300"),
        ("pre=negative", "samples_pre_event -5", "origin", "samples_pre_event", "-5"),
        ("pre=past-rows", "samples_pre_event beyond the rows", "origin", "samples_pre_event",
         "500"),
        ("post=zero", "samples_post_event 0", "origin", "samples_post_event", "0"),
        ("pre=float", "samples_pre_event 50.5", "origin", "samples_pre_event", "50.5"),
        ("readout=unknown", "readout 'nonsense'", "origin", "readout", "nonsense"),
    ]:
        corpus.h5_case(case_id, "inconsistent" if "labels" in case_id or "=" in case_id
                       else "attribute", description, set_attr(where, key, value))
    for case_id, where, keys in [
        ("missing.samplingrate", "origin", ("samplingrate",)),
        ("missing.channel_labels", "origin", ("channel_labels",)),
        ("missing.samples_pre_event", "origin", ("samples_pre_event",)),
        ("missing.samples_post_event", "origin", ("samples_post_event",)),
        ("missing.window", "origin", ("samples_pre_event", "samples_post_event")),
        ("missing.origin-all", "origin", None),
        ("missing.trace-id", "trace", ("id",)),
        ("missing.trace-reject", "trace", ("reject",)),
        ("missing.trace-all", "trace", None),
    ]:
        def edit(f, where=where, keys=keys):
            target = _trace_group(f)["0"] if where == "trace" else _origin(f)
            for key in keys or list(target.attrs):
                del target.attrs[key]
        corpus.h5_case(case_id, "missing", f"{where} without {', '.join(keys or ['any key'])}",
                       edit)


def _root_cases(corpus: _Corpus) -> None:
    def root(key, value):
        def edit(f):
            if value is None:
                del f.attrs[key]
            else:
                f.attrs[key] = value
        return edit

    cases = [
        ("format=99", "tracemark_format 99", "tracemark_format", "99"),
        ("format=int99", "tracemark_format the number 99", "tracemark_format", 99),
        ("format=int1", "tracemark_format the number 1", "tracemark_format", 1),
        ("format=2.0", "tracemark_format '2.0'", "tracemark_format", "2.0"),
        ("format=garbage", "tracemark_format 'abc'", "tracemark_format", "abc"),
        ("format=array", "tracemark_format an array", "tracemark_format", np.array([1, 2])),
        ("format=missing", "no tracemark_format", "tracemark_format", None),
        ("root=unknown", "an unknown root attribute", "tracemark_future_index", "[1, 2, 3]"),
        ("root=unknown-array", "an unknown root array attribute", "checksums", np.zeros(8)),
        ("id=int", "cache id a number", "tracemark_cache_id", 5),
        ("id=spaces", "cache id with spaces", "tracemark_cache_id", "a b c"),
        ("id=newline", "cache id with a newline", "tracemark_cache_id", "ab\ncd"),
        ("id=empty", "cache id empty", "tracemark_cache_id", ""),
        ("id=non-ascii", "cache id not ASCII", "tracemark_cache_id", "caf\u00e9"),
        ("id=array", "cache id an array", "tracemark_cache_id", np.array([b"a", b"b"])),
        ("id=missing", "no cache id", "tracemark_cache_id", None),
        ("seq=garbage", "applied seq 'abc'", "tracemark_applied_seq", "abc"),
        ("seq=negative", "applied seq -1", "tracemark_applied_seq", "-1"),
        ("seq=huge", "applied seq 10**30", "tracemark_applied_seq", "1" + "0" * 30),
        ("seq=array", "applied seq an array", "tracemark_applied_seq", np.array([1, 2])),
        ("seq=float", "applied seq 2.5", "tracemark_applied_seq", 2.5),
        ("offset=negative", "journal offset -7", "tracemark_journal_offset", "-7"),
        ("offset=huge", "journal offset 10**30", "tracemark_journal_offset", "1" + "0" * 30),
        ("offset=array", "journal offset an array", "tracemark_journal_offset", np.zeros(3)),
        ("offset=mid-record", "journal offset inside a record", "tracemark_journal_offset",
         "100"),
    ]
    for case_id, description, key, value in cases:
        kind = "future" if case_id.startswith(("format", "root")) else "root"
        path = corpus.copy(case_id, corpus.journal)
        with h5py.File(path, "r+") as f:
            root(key, value)(f)
        corpus.add(path, kind, description)


# -- journals --------------------------------------------------------------------------------------
def _lines(journal: bytes) -> tuple[bytes, list[bytes]]:
    """The header and each record of a journal, each with the padding that follows it
    (a version 2 journal pads each to a 512-byte sector; version 1 has no padding)."""
    chunks: list[bytes] = []
    for line in journal.splitlines(keepends=True):
        if chunks and not line.strip(b" \n"):
            chunks[-1] += line
        else:
            chunks.append(line)
    return chunks[0], chunks[1:]


def _frame(payload: bytes) -> bytes:
    """A record as the journal writes it: its line, padded to the next sector."""
    return _padded(b"%08x %d %s\n" % (zlib.crc32(payload), len(payload), payload))


def _padded(line: bytes) -> bytes:
    short = -len(line) % 512
    return line + (b" " * (short - 1) + b"\n" if short else b"")


def _legacy(journal: bytes) -> bytes:
    """The same journal as a version 1 writer wrote it: no padding, version 1 header."""
    header, records = _lines(journal)
    unpadded = [chunk.split(b"\n", 1)[0] + b"\n" for chunk in [header, *records]]
    return unpadded[0].replace(b"JOURNAL 2 ", b"JOURNAL 1 ") + b"".join(unpadded[1:])


def _payload(line: bytes) -> dict:
    return json.loads(line.split(b" ", 2)[2])


def _reframed(line: bytes, **changes) -> bytes:
    body = _payload(line)
    body.update(changes)
    return _frame(json.dumps(body).encode())


def _journal_cases(corpus: _Corpus, rng: np.random.Generator, older_h5: bytes | None) -> None:
    header, records = _lines(corpus.journal)
    everything = FOLDED + PENDING
    assert len(records) == len(everything), "the source journal must hold every record"
    add = corpus.journal_case
    upto = lambda n: tuple(s for s in everything if s <= n)  # noqa: E731

    # Torn tails: a writer crashed while appending; every cut inside a record.
    start = len(header)
    for k, line in enumerate(records):
        length = line.index(b"\n") + 1  # the record without its padding
        for cut in sorted({1, 9, 18, length // 2, length - 1}):
            body = header + b"".join(records[:k]) + line[:cut]
            add(f"journal.torn{k + 1}.{cut}", f"journal cut {cut} bytes into record {k + 1}",
                body, visible=FOLDED + upto(k), repairable=True)
        start += len(line)
    for cut in (5, header.index(b"\n")):
        add(f"journal.header-cut{cut}", f"journal cut {cut} bytes into its header",
            header[:cut], visible=FOLDED)
    add("journal.header-padding-cut", "journal cut inside the padding of its header",
        header[:len(header) // 2], visible=FOLDED, repairable=True, skipped=False)
    last = records[-1]
    add("journal.torn-padding", "journal cut inside the padding of its last record",
        header + b"".join(records[:-1]) + last[:(last.index(b"\n") + 1 + len(last)) // 2],
        visible=everything, repairable=True)
    _legacy_cases(corpus, header, records)
    add("journal.header-only", "journal with its header and no record", header, visible=FOLDED,
        skipped=False)

    def flipped(k: int, at: int) -> bytes:
        line = bytearray(records[k])
        line[at] ^= 0x04
        return header + b"".join(records[:k]) + bytes(line) + b"".join(records[k + 1:])

    last = len(records) - 1
    for at, where in ((0, "checksum"), (9, "length"), (40, "payload")):
        add(f"journal.flip-last-{where}", f"a flipped byte in the {where} of the last record",
            flipped(last, at), visible=upto(6), repairable=True)
        add(f"journal.flip-middle-{where}", f"a flipped byte in the {where} of record 5",
            flipped(4, at), visible=upto(4))
        add(f"journal.flip-folded-{where}", f"a flipped byte in the {where} of record 2, "
            f"already in the HDF5 file", flipped(1, at), visible=everything)

    other = json.loads(records[4].split(b" ", 2)[2])
    foreign_line = _frame(json.dumps({**other, "seq": 8, "changes": [
        ["other.trc", "0", "comment", None, "foreign"]]}).encode())
    unknown_trace = _frame(json.dumps({**other, "seq": 8, "changes": [
        [other["changes"][0][0], "999", "comment", None, "foreign"]]}).encode())
    add("journal.foreign-record-end", "a record of another cache appended",
        corpus.journal + foreign_line, visible=everything)
    add("journal.unknown-trace-end", "a record naming trace 999 appended",
        corpus.journal + unknown_trace, visible=everything)
    add("journal.foreign-record-middle", "a record of another cache before record 6",
        header + b"".join(records[:5]) + _reframed(foreign_line, seq=6) + b"".join(records[5:]),
        visible=upto(5))
    add("journal.duplicate-seq", "record 6 written twice",
        header + b"".join(records[:6]) + records[5] + records[6], visible=upto(6))
    add("journal.seq-backwards", "record 7 numbered 2",
        header + b"".join(records[:6]) + _reframed(records[6], seq=2), visible=upto(6),
        repairable=True)
    add("journal.seq-gap", "records numbered 4, 5, 6, 17: a gap is allowed",
        header + b"".join(records[:6]) + _reframed(records[6], seq=17), visible=everything)
    for label, payload in [
        ("not-json", b"this is not json"), ("json-list", b"[1, 2, 3]"),
        ("deep-json", b"[" * 100_000 + b"]" * 100_000),
        ("changes-dict", json.dumps({**other, "seq": 8, "changes": {"a": 1}}).encode()),
        ("changes-numbers", json.dumps({**other, "seq": 8, "changes": [[1, 2, 3, 4, 5]]}).encode()),
        ("value-number", json.dumps({**other, "seq": 8, "changes": [
            [other["changes"][0][0], other["changes"][0][1], "comment", None, 5]]}).encode()),
        ("seq-text", json.dumps({**other, "seq": "eight"}).encode()),
        ("kind-unknown", json.dumps({**other, "seq": 8, "kind": "explode"}).encode()),
        ("non-utf8", b"\xff\xfe" + b"x" * 20),
    ]:
        add(f"journal.valid-crc-{label}", f"a record with a valid checksum whose payload is "
            f"{label}", corpus.journal + _frame(payload), visible=everything, repairable=True)
        add(f"journal.valid-crc-{label}-middle", f"record 6 replaced by a checksummed "
            f"{label} payload", header + b"".join(records[:5]) + _frame(payload)
            + b"".join(records[6:]), visible=upto(5))
    for label, garbage in [("random", rng.bytes(300)), ("lines", b"garbage\n" * 20),
                           ("zeros", bytes(4096)), ("newline", b"\n"),
                           ("half-record", records[3][:40] + b"\n")]:
        add(f"journal.garbage-{label}", f"{label} appended to the journal",
            corpus.journal + garbage, visible=everything, repairable=True)
    add("journal.zero-length", "a zero-length journal", b"", visible=FOLDED, repairable=True)
    add("journal.other-cache", "the journal of another cache",
        header.replace(header.split(b" ")[2], b"0" * 32 + b"\n") + b"".join(records),
        visible=FOLDED)
    add("journal.version3", "a journal of version 3 (from the future)",
        header.replace(b"JOURNAL 2", b"JOURNAL 3") + b"".join(records), visible=FOLDED)
    add("journal.version-garbage", "a journal whose version is not a number",
        header.replace(b"JOURNAL 2", b"JOURNAL x") + b"".join(records), visible=FOLDED)
    add("journal.id-non-ascii", "a journal whose cache id is not ASCII",
        header.replace(b"\n", b"\xff\n", 1) + b"".join(records), visible=FOLDED)
    add("journal.not-journal", "a text file as the journal", b"hello\nworld\n" * 10,
        visible=FOLDED)
    add("journal.file-newer", "journal older than the HDF5 file (records 1-2 only)",
        header + b"".join(records[:2]), visible=FOLDED, skipped=False)
    add("journal.file-newer-cut", "journal older than the HDF5 file, torn in record 3",
        header + b"".join(records[:2]) + records[2][:25], visible=FOLDED, repairable=True)
    add("journal.newer-than-file", "the HDF5 file from before its checkpoint, journal 1-7",
        corpus.journal, visible=everything, h5=older_h5 or _unfolded(corpus))
    path = add("journal.sparse-4gb", "a journal with 4 GB of unwritten bytes after its records",
               corpus.journal, visible=everything, repairable=True)
    with open(_journal(path), "r+b") as handle:
        handle.truncate(len(corpus.journal) + (4 << 30))
    folder_case = corpus.copy("journal.folder")
    _journal(folder_case).mkdir()
    corpus.add(folder_case, "journal", "the journal is a folder", visible=FOLDED, skipped=True)


def _legacy_cases(corpus: _Corpus, header: bytes, records: list[bytes]) -> None:
    """Version 1 journals (no sector padding), as Tracemark wrote them before: read as
    they are; a writable open rewrites a sound one as version 2, keeping every record."""
    everything = FOLDED + PENDING
    legacy = _legacy(header + b"".join(records))
    v1_header, v1_records = _lines(legacy)
    add = corpus.journal_case
    add("journal.v1", "a version 1 journal", legacy, visible=everything, repairable=True)
    add("journal.v1-torn", "a version 1 journal torn in its last record",
        legacy[:-20], visible=everything[:-1], repairable=True)
    middle = bytearray(v1_records[4])
    middle[0] ^= 0x04
    add("journal.v1-flip-middle", "a version 1 journal with a flipped byte in record 5",
        v1_header + b"".join(v1_records[:4]) + bytes(middle) + b"".join(v1_records[5:]),
        visible=everything[:4])


def _unfolded(corpus: _Corpus) -> bytes:
    """The source's HDF5 file as it was before its checkpoint: records 1-3 taken back out."""
    scratch = corpus.out_dir / "scratch-unfolded.hdf5"
    scratch.write_bytes(corpus.h5)
    with h5py.File(scratch, "r+") as f:
        for origin in f:
            for dataset in f[origin]["traces"].values():
                for key in ("comment", "examiner"):
                    if str(dataset.attrs.get(key, "")).startswith("r"):
                        dataset.attrs[key] = "" if key == "comment" else ""
        f.attrs["tracemark_applied_seq"] = "0"
        f.attrs["tracemark_journal_offset"] = "0"
    data = scratch.read_bytes()
    scratch.unlink()
    return data


def _lock_cases(corpus: _Corpus) -> None:
    for case_id, description, make in [
        ("lock.garbage", "a stale lock file of random bytes",
         lambda p: p.write_bytes(np.random.default_rng(3).bytes(500))),
        ("lock.json-list", "a stale lock file holding a JSON list",
         lambda p: p.write_text("[1, 2, 3]")),
        ("lock.huge", "a stale 8 MB lock file", lambda p: p.write_bytes(b"{" * (8 << 20))),
        ("lock.folder", "the lock file is a folder", lambda p: p.mkdir()),
        ("leftover.checkpoint", "a stray checkpoint copy of garbage",
         lambda p: p.with_name(p.name.replace(".lock", ".checkpoint-999999")).write_bytes(b"x")),
        ("leftover.journal-tmp", "a stray journal temporary",
         lambda p: p.with_name(p.name.replace(".lock", ".journal.tmp-999999")).write_bytes(b"x")),
    ]:
        path = corpus.copy(case_id, corpus.journal)
        make(path.with_name(path.name + ".lock"))
        corpus.add(path, "lock", description, visible=FOLDED + PENDING)
