"""Damaged variants of a valid NWB file: HDF5 damage and valid HDF5 that is wrong NWB.

Part of the bad-input corpus (see :mod:`testkit.damage`, which dispatches here).
Byte damage (truncations, bit flips in the superblock and early metadata, 4 KiB of zeros
or random bytes over the superblock and the first B-tree, heap and object header) is
written directly; layout damage is made with h5py on a copy of the source: deleted and renamed
datasets and attributes, data and timestamps of the wrong dtype or shape, strings where
numbers belong, bad electrodes references, a wrong ``neurodata_type``, broken links,
damaged interval tables, and datasets that declare :data:`HUGE_ROWS` rows without
storing them (the file stays small; reading such a dataset whole would ask for
terabytes). An edit that does not apply to a source (a series with timestamps has no
``starting_time`` to delete) is skipped for that source.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import h5py
import numpy as np

from .damage import CaseWriter, DamagedFile

__all__ = ["HUGE_ROWS", "nwb_variants"]
_NwbEdit = Callable[[h5py.File, "h5py.Group | None", "h5py.Group | None"], None]


def _main_series(h5file: h5py.File) -> h5py.Group | None:
    acquisition = h5file.get("acquisition")
    if not isinstance(acquisition, h5py.Group):
        return None
    groups = [acquisition[k] for k in acquisition if isinstance(acquisition.get(k), h5py.Group)]
    series = [g for g in groups if isinstance(g.get("data"), h5py.Dataset)
              and g["data"].dtype.kind in "iuf" and g["data"].ndim in (1, 2)]
    series.sort(key=lambda g: "ElectricalSeries" not in str(g.attrs.get("neurodata_type", "")))
    return series[0] if series else None


def _interval_table(h5file: h5py.File) -> h5py.Group | None:
    intervals = h5file.get("intervals")
    if not isinstance(intervals, h5py.Group):
        return None
    for key in intervals:
        table = intervals.get(key)
        if isinstance(table, h5py.Group) and isinstance(table.get("start_time"), h5py.Dataset):
            return table
    return None


def _replace(group: h5py.Group, name: str, value, attrs: bool = True) -> None:
    """Replace dataset ``name`` by ``value`` (keeping its attributes unless told not to)."""
    old = dict(group[name].attrs) if attrs and name in group else {}
    if name in group:
        del group[name]
    new = group.create_dataset(name, data=value)
    for key, attribute in old.items():
        new.attrs[key] = attribute


#: Rows declared by the "huge" edits: chunked and never written, so the file stays small,
#: but reading the dataset whole would ask for terabytes.
HUGE_ROWS = 2**40


def _huge(group: h5py.Group, name: str, dtype="<f8") -> None:
    """Replace dataset ``name`` by one declaring :data:`HUGE_ROWS` unwritten rows."""
    old = dict(group[name].attrs) if name in group else {}
    if name in group:
        del group[name]
    new = group.create_dataset(name, shape=(HUGE_ROWS,), dtype=dtype, chunks=(4096,))
    for key, attribute in old.items():
        new.attrs[key] = attribute


def _set_attr(name: str, value, where: str = "data") -> _NwbEdit:
    def edit(f, series, table):
        target = series if where == "." else series[where]
        target.attrs[name] = value
    return edit


def _rename_attr(old: str, new: str, where: str) -> _NwbEdit:
    def edit(f, series, table):
        attrs = series[where].attrs
        attrs[new] = attrs.pop(old)
    return edit


def _del(name: str) -> _NwbEdit:
    def edit(f, series, table):
        del series[name]
    return edit


def _series_edits(n: int, channels: int) -> list[tuple[str, str, _NwbEdit]]:
    shaped = lambda s, d=np.float64: np.zeros(s, dtype=d)  # noqa: E731
    ts = lambda v: lambda f, s, t: _replace(s, "timestamps", v)  # noqa: E731
    edits = [
        ("data=deleted", "series without data", _del("data")),
        ("data=renamed", "data renamed to 'samples'",
         lambda f, s, t: s.move("data", "samples")),
        ("data=group", "data is a group", lambda f, s, t: (s.__delitem__("data"),
                                                          s.create_group("data"))),
        ("data=strings", "data of strings", lambda f, s, t: _replace(s, "data", np.array(
            [b"x"] * n))),
        ("data=3d", "3-D data", lambda f, s, t: _replace(s, "data", shaped((n, channels, 2)))),
        ("data=empty", "data with 0 samples",
         lambda f, s, t: _replace(s, "data", shaped((0, channels)))),
        ("data=no-channels", "data with 0 channels",
         lambda f, s, t: _replace(s, "data", shaped((n, 0)))),
        ("data=scalar", "scalar data", lambda f, s, t: _replace(s, "data", 1.0)),
        ("data=complex", "complex data",
         lambda f, s, t: _replace(s, "data", shaped((n, channels), np.complex64))),
        ("data=compound", "compound data", lambda f, s, t: _replace(s, "data", np.zeros(
            n, dtype=[("a", "<i4"), ("b", "<f8")]))),
        ("data=transposed", "data stored channels x time",
         lambda f, s, t: _replace(s, "data", shaped((channels, n)))),
        ("data=huge-unwritten", "data declares 2**40 samples, none written",
         lambda f, s, t: (s.__delitem__("data"), s.create_dataset(
             "data", shape=(2**40, channels), dtype="<i2", chunks=(4096, channels)))),
        ("data=huge-channels", "data declares 2**31 channels, none written",
         lambda f, s, t: (s.__delitem__("data"), s.create_dataset(
             "data", shape=(n, 2**31), dtype="<i2", chunks=(16, 4096)))),
        ("starting_time=deleted", "no starting_time and no timestamps", _del("starting_time")),
        ("rate=deleted", "starting_time without rate",
         lambda f, s, t: s["starting_time"].attrs.__delitem__("rate")),
        ("rate=renamed", "starting_time's rate attribute renamed to 'Rate'",
         _rename_attr("rate", "Rate", "starting_time")),
        ("rate=string", "rate is a string", _set_attr("rate", "fast", "starting_time")),
        ("rate=array", "rate is an array", _set_attr("rate", [100.0, 200.0], "starting_time")),
        ("rate=0", "rate is 0 Hz", _set_attr("rate", 0.0, "starting_time")),
        ("rate=-1", "rate is -1 Hz", _set_attr("rate", -1.0, "starting_time")),
        ("rate=nan", "rate is NaN", _set_attr("rate", np.nan, "starting_time")),
        ("rate=1e308", "rate is 1e308 Hz", _set_attr("rate", 1e308, "starting_time")),
        ("rate=1e-300", "rate is 1e-300 Hz", _set_attr("rate", 1e-300, "starting_time")),
        ("conversion=renamed", "conversion attribute renamed to 'Conversion'",
         _rename_attr("conversion", "Conversion", "data")),
        ("starting_time=string", "starting_time is a string",
         lambda f, s, t: _replace(s, "starting_time", "soon")),
        ("starting_time=array", "starting_time is an array",
         lambda f, s, t: _replace(s, "starting_time", np.zeros(3))),
        ("starting_time=nan", "starting_time is NaN",
         lambda f, s, t: _replace(s, "starting_time", np.nan)),
        ("conversion=string", "conversion is a string", _set_attr("conversion", "lots")),
        ("conversion=nan", "conversion is NaN", _set_attr("conversion", np.nan)),
        ("conversion=inf", "conversion is infinite", _set_attr("conversion", np.inf)),
        ("conversion=array", "conversion is an array", _set_attr("conversion", [1.0, 2.0])),
        ("offset=string", "offset is a string", _set_attr("offset", "zero")),
        ("offset=inf", "offset is infinite", _set_attr("offset", -np.inf)),
        ("unit=int", "unit is an integer", _set_attr("unit", 7)),
        ("unit=array", "unit is an array of strings", _set_attr("unit", np.array([b"V", b"mV"]))),
        ("timestamps=short", "timestamps one shorter than data", ts(np.arange(n - 1) / 100.0)),
        ("timestamps=descending", "timestamps run backwards", ts(np.arange(n)[::-1] / 100.0)),
        ("timestamps=nan", "timestamps all NaN", ts(np.full(n, np.nan))),
        ("timestamps=inf-end", "last timestamp infinite",
         ts(np.append(np.arange(n - 1) / 100.0, np.inf))),
        ("timestamps=constant", "all timestamps equal", ts(np.zeros(n))),
        ("timestamps=strings", "timestamps of strings", ts(np.array([b"t"] * n))),
        ("timestamps=2d", "2-D timestamps", ts(np.zeros((n, 2)))),
        ("timestamps=unsorted", "timestamps ascending except two swapped",
         ts(np.r_[np.arange(n // 2), n, np.arange(n // 2 + 1, n - 1), n // 2] / 100.0)),
        ("neurodata_type=ImageSeries", "series typed ImageSeries",
         _set_attr("neurodata_type", "ImageSeries", ".")),
        ("neurodata_type=Units", "series typed Units", _set_attr("neurodata_type", "Units", ".")),
        ("neurodata_type=int", "series neurodata_type is an integer",
         _set_attr("neurodata_type", 3, ".")),
        ("channel_conversion=short", "channel_conversion one value short",
         lambda f, s, t: _replace(s, "channel_conversion", np.ones(max(channels - 1, 0)))),
        ("channel_conversion=strings", "channel_conversion of strings",
         lambda f, s, t: _replace(s, "channel_conversion", np.array([b"a"] * channels))),
        ("channel_conversion=nan", "channel_conversion NaN",
         lambda f, s, t: _replace(s, "channel_conversion", np.full(channels, np.nan))),
        ("channel_conversion=huge", f"channel_conversion declares {HUGE_ROWS} values",
         lambda f, s, t: _huge(s, "channel_conversion")),
        ("timestamps=huge", f"timestamps declare {HUGE_ROWS} values",
         lambda f, s, t: _huge(s, "timestamps")),
        ("event-series=huge", f"an event series of {HUGE_ROWS} lick times",
         lambda f, s, t: _huge_event_series(f)),
    ]
    return edits


def _electrode_edits(channels: int) -> list[tuple[str, str, _NwbEdit]]:
    def region(value):
        return lambda f, s, t: _replace(s, "electrodes", value)

    def table_column(name, value):
        def edit(f, s, t):
            table = s["electrodes"].attrs["table"]
            _replace(f[table], name, value)
        return edit

    def table_delete(name):
        return lambda f, s, t: f[s["electrodes"].attrs["table"]].__delitem__(name)

    return [
        ("electrodes=short", "one electrode fewer than channels", region(np.arange(channels - 1))),
        ("electrodes=past", "electrodes point past the table", region(np.arange(channels) + 1000)),
        ("electrodes=negative", "electrodes point at row -1", region(-np.ones(channels, int))),
        ("electrodes=strings", "electrodes of strings", region(np.array([b"e"] * channels))),
        ("electrodes=2d", "2-D electrodes", region(np.zeros((channels, 2), int))),
        ("electrodes.table=missing", "electrodes table reference names no object",
         _set_attr("table", "/general/nowhere", "electrodes")),
        ("electrodes.table=renamed", "electrodes 'table' attribute renamed",
         _rename_attr("table", "Table", "electrodes")),
        ("electrodes.table=int", "electrodes table reference is an integer",
         _set_attr("table", 5, "electrodes")),
        ("electrodes.table=dataset", "electrodes table reference is a dataset",
         lambda f, s, t: s["electrodes"].attrs.__setitem__("table", s["data"].ref)),
        ("labels=int", "electrode labels are integers", table_column("label", np.arange(1000))),
        ("labels=2d", "electrode labels are 2-D", table_column("label", np.zeros((channels, 2)))),
        ("labels=short", "fewer labels than electrodes", table_column("label", np.array([b"x"]))),
        ("electrode-ids=deleted", "electrodes table without ids", table_delete("id")),
        ("electrode-ids=strings", "electrode ids are strings",
         table_column("id", np.array([b"i"] * channels))),
        ("electrodes=huge", f"electrodes region declares {HUGE_ROWS} rows",
         lambda f, s, t: _huge(s, "electrodes", "<i8")),
        ("electrode-ids=huge", f"electrodes table declares {HUGE_ROWS} ids",
         lambda f, s, t: _huge(f[s["electrodes"].attrs["table"]], "id", "<i8")),
        ("labels=huge", f"electrode labels declare {HUGE_ROWS} rows",
         lambda f, s, t: _huge(f[s["electrodes"].attrs["table"]], "label", h5py.string_dtype())),
    ]


def _huge_event_series(h5file: h5py.File) -> None:
    group = h5file["acquisition"].create_group("lick_times")
    group.attrs["neurodata_type"] = "TimeSeries"
    for name in ("data", "timestamps"):
        group.create_dataset(name, shape=(HUGE_ROWS,), dtype="<f8", chunks=(4096,))


def _file_edits() -> list[tuple[str, str, _NwbEdit]]:
    def root_attr(name, value):
        def edit(f, s, t):
            if value is None:
                del f.attrs[name]
            else:
                f.attrs[name] = value
        return edit

    def root_dataset(name, value):
        return lambda f, s, t: (f.__delitem__(name) if value is None else _replace(f, name, value))

    def dangling(kind):
        def edit(f, s, t):
            f["acquisition"]["dangling"] = (h5py.SoftLink("/nowhere") if kind == "soft" else
                                            h5py.ExternalLink("missing.nwb", "/acquisition/x"))
        return edit

    return [
        ("nwb_version=deleted", "root without nwb_version", root_attr("nwb_version", None)),
        ("nwb_version=int", "nwb_version is an integer", root_attr("nwb_version", 2)),
        ("root-type=Foo", "root neurodata_type Foo", root_attr("neurodata_type", "Foo")),
        ("plain-hdf5", "root without nwb_version nor neurodata_type",
         lambda f, s, t: (f.attrs.__delitem__("nwb_version"),
                          f.attrs.__delitem__("neurodata_type"))),
        ("nwb1", "NWB 1.x layout (nwb_version dataset)",
         lambda f, s, t: (f.attrs.__delitem__("nwb_version"),
                          f.create_dataset("nwb_version", data="NWB-1.0.6"))),
        ("session_start=deleted", "no session_start_time",
         root_dataset("session_start_time", None)),
        ("session_start=garbage", "session_start_time is not a date",
         root_dataset("session_start_time", "yesterday-ish")),
        ("session_start=int", "session_start_time is an integer",
         root_dataset("session_start_time", 5)),
        ("session_start=array", "session_start_time is an array",
         root_dataset("session_start_time", np.array([b"2020-01-01", b"2021-01-01"]))),
        ("reference_time=garbage", "timestamps_reference_time is not a date",
         root_dataset("timestamps_reference_time", "later")),
        ("reference_time=far", "timestamps_reference_time in year 9999",
         root_dataset("timestamps_reference_time", "9999-12-31T23:59:59+00:00")),
        ("acquisition=dataset", "acquisition is a dataset",
         lambda f, s, t: (f.__delitem__("acquisition"), f.create_dataset("acquisition", data=1))),
        ("link=soft-dangling", "a soft link to nowhere in acquisition", dangling("soft")),
        ("link=external-missing", "an external link to a missing file in acquisition",
         dangling("external")),
        ("link=cycle", "acquisition holds a hard link to the root",
         lambda f, s, t: f["acquisition"].__setitem__("loop", f["/"])),
        ("series=no-data-rate", "a series with a rate but no data",
         lambda f, s, t: f["acquisition"].create_group("hollow").create_dataset(
             "starting_time", data=0.0).attrs.__setitem__("rate", 10.0)),
    ]


def _table_edits() -> list[tuple[str, str, _NwbEdit]]:
    def column(name, value):
        return lambda f, s, t: _replace(t, name, value)

    return [
        ("table.start=strings", "interval start times are strings",
         column("start_time", np.array([b"s"] * 3))),
        ("table.start=2d", "interval start times are 2-D", column("start_time", np.zeros((3, 2)))),
        ("table.start=nan", "interval start times NaN", column("start_time", np.full(3, np.nan))),
        ("table.stop=short", "fewer stop times than starts", column("stop_time", np.ones(1))),
        ("table.stop=strings", "interval stop times are strings",
         column("stop_time", np.array([b"s"] * 3))),
        ("table.label=short", "fewer labels than rows", column("label", np.array([b"a"]))),
        ("table.tags_index=bad", "a tags index pointing past the tags",
         lambda f, s, t: (_replace(t, "tags", np.array([b"a"])),
                          _replace(t, "tags_index", np.array([5, 1, 99])))),
        ("table.colnames=int", "table colnames is an integer",
         lambda f, s, t: t.attrs.__setitem__("colnames", 3)),
        ("table.start=deleted", "interval table without start times",
         lambda f, s, t: t.__delitem__("start_time")),
        ("table.start=huge", f"interval table declares {HUGE_ROWS} start times",
         lambda f, s, t: _huge(t, "start_time")),
        ("table.label=huge", f"interval labels declare {HUGE_ROWS} rows",
         lambda f, s, t: _huge(t, "label", h5py.string_dtype())),
    ]


#: Signatures of HDF5's metadata structures (B-trees, heaps, object headers).
_H5_SIGNATURES = (b"TREE", b"HEAP", b"SNOD", b"GCOL", b"OHDR", b"FRHP", b"FHDB", b"BTHD")


def _metadata_offsets(data: bytes) -> dict[str, int]:
    """Where the superblock and the first of each kind of HDF5 metadata structure start,
    and a point inside the first global heap (where zeros made HDF5 loop)."""
    offsets = {"superblock": 0}
    for signature in _H5_SIGNATURES:
        found = data.find(signature)
        if found >= 0:
            offsets[signature.decode().lower()] = found
    if "gcol" in offsets:
        offsets["gcol-inside"] = offsets["gcol"] + 2048
    return {where: at for where, at in offsets.items() if at < len(data)}


def nwb_variants(source: str | Path, out_dir: str | Path, *, seed: int = 0,
                 extent: str = "full") -> list[DamagedFile]:
    """Damaged variants of a valid NWB 2.x file; see the module docstring."""
    source = Path(source)
    data = source.read_bytes()
    corpus = CaseWriter(source, out_dir, "nwb", extent)
    rng = np.random.default_rng(seed)
    size = len(data)
    marks = {8: "signature only", 96: "inside the superblock", 512: "first 512 bytes",
             4096: "first 4 KiB", size // 4: "a quarter", size // 2: "half",
             3 * size // 4: "three quarters", size - 1: "last byte missing"}
    corpus.truncations(data, corpus.thin_marks(marks))
    corpus.bitflips(data, rng.integers(0, 96, corpus.count(6)), "superblock", rng)
    corpus.bitflips(data, rng.integers(96, min(size, 16384), corpus.count(16)),
                    "early metadata", rng)
    corpus.blocks(data, dict(corpus.thin(sorted(_metadata_offsets(data).items()))), rng)
    with h5py.File(source, "r") as h5file:
        series, table = _main_series(h5file), _interval_table(h5file)
        shape = series["data"].shape if series is not None else (0,)
        has_electrodes = series is not None and "electrodes" in series
        series_name = series.name if series is not None else None
        table_name = table.name if table is not None else None
    n, channels = int(shape[0]), int(shape[1]) if len(shape) > 1 else 1
    edits = _file_edits()
    if series_name is not None and n > 2:
        edits += _series_edits(n, channels)
        edits += _electrode_edits(channels) if has_electrodes else []
    edits += _table_edits() if table_name is not None else []
    for case_id, description, edit in corpus.thin(edits):
        path = corpus.path(case_id)
        shutil.copyfile(source, path)
        try:
            with h5py.File(path, "r+") as h5file:
                edit(h5file, h5file[series_name] if series_name else None,
                     h5file[table_name] if table_name else None)
        except (KeyError, ValueError, TypeError):
            path.unlink()  # this file lacks what the edit changes (e.g. a series with timestamps)
            continue
        corpus.add(path, "structure", description)
    return corpus.cases
