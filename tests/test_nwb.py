"""The NWB backend against pynwb, the oracle, on real files and on files built here.

Every shared NWB file (../shared/data/nwb) and two generated ones -- a "kitchen sink"
built with pynwb (channel_conversion, offset, LFP and Position containers, timestamps,
a shifted timestamps_reference_time, AnnotationSeries, IntervalSeries, BehavioralEvents,
interval tables in /intervals and in processing, units, an image series) and one from
Tracemark's own writer -- must read exactly what pynwb reads. Damaged files must raise
typed errors that name the file.
"""

from __future__ import annotations

import gc
import hashlib
import shutil
import threading
import warnings
from datetime import datetime, timedelta, timezone
from pathlib import Path

import h5py
import numpy as np
import psutil
import pytest
from conftest import shared_params

from tracemark.io_backends import (
    CorruptRecordingError,
    RecordingClosedError,
    RecordingError,
    TruncatedRecordingError,
    UnsupportedFormatError,
    UnsupportedVariantError,
    open_recording,
)
from tracemark.io_backends.nwb import NwbRecording, open_nwb

pynwb = pytest.importorskip("pynwb", reason="pynwb is the oracle for the NWB backend")
from pynwb import NWBHDF5IO, TimeSeries  # noqa: E402
from pynwb.epoch import TimeIntervals  # noqa: E402

WALKED = ("/acquisition/", "/processing/", "/stimulus/presentation/")
EventsTable = getattr(pynwb, "EventsTable", None) or getattr(
    __import__("pynwb.event", fromlist=["EventsTable"]), "EventsTable", None)
KS_START = datetime(2023, 5, 6, 7, 8, 9, tzinfo=timezone(timedelta(hours=2)))
KS_SHIFT = 2.5  # timestamps_reference_time - session_start_time


# -- generated files ------------------------------------------------------------------------
def build_kitchen_sink(path: Path) -> Path:
    from pynwb import NWBFile
    from pynwb.behavior import BehavioralEvents, Position, SpatialSeries
    from pynwb.ecephys import LFP, ElectricalSeries
    from pynwb.image import ImageSeries
    from pynwb.misc import AnnotationSeries, IntervalSeries

    rng = np.random.default_rng(7)
    nwb = NWBFile(session_description="kitchen sink", identifier="ks-1", session_start_time=KS_START,
                  timestamps_reference_time=KS_START + timedelta(seconds=KS_SHIFT))
    device = nwb.create_device(name="probe")
    group = nwb.create_electrode_group(name="shank", description="d", location="brain", device=device)
    for i in range(6):
        nwb.add_electrode(id=10 + i, group=group, location="CA1" if i % 2 else "CA3")
    rows = [5, 0, 3, 2]
    region = nwb.create_electrode_table_region(rows, "four electrodes, out of order")
    nwb.add_acquisition(ElectricalSeries(
        name="raw", data=rng.integers(-3000, 3000, (3000, 4)).astype(np.int16), electrodes=region,
        rate=1000.0, starting_time=1.25, conversion=2e-6, offset=1e-3,
        channel_conversion=[1.0, 0.5, 2.0, 1.5]))
    ecephys = nwb.create_processing_module("ecephys", "processed")
    lfp_region = nwb.create_electrode_table_region([0, 1, 2, 3], "lfp electrodes")
    ecephys.add(LFP(electrical_series=ElectricalSeries(
        name="lfp", data=rng.normal(0, 1e-4, (600, 4)).astype(np.float32), electrodes=lfp_region,
        rate=200.0)))
    behavior = nwb.create_processing_module("behavior", "behaviour")
    position_times = np.cumsum(rng.uniform(0.005, 0.03, 500))
    behavior.add(Position(spatial_series=SpatialSeries(
        name="head", data=rng.normal(0, 1, (500, 2)), timestamps=position_times,
        reference_frame="arena corner", unit="meters")))
    behavior.add(BehavioralEvents(time_series=TimeSeries(
        name="reward", data=np.ones(7), unit="a.u.", timestamps=np.sort(rng.uniform(0, 9, 7)))))
    stages = TimeIntervals(name="sleep_stages", description="scored stages")
    stages.add_column(name="label", description="stage")
    for k, stage in enumerate(["wake", "N1", "N2"]):
        stages.add_interval(start_time=3.0 * k, stop_time=3.0 * k + 3.0, label=stage)
    behavior.add(stages)
    nwb.add_acquisition(AnnotationSeries(name="notes", data=["eyes closed", "eyes open"],
                                         timestamps=[0.5, 4.0]))
    stim_on = IntervalSeries(name="stim_on", data=[1, -1, 1, -1], timestamps=[1.0, 1.5, 6.0, 6.2])
    nwb.add_acquisition(stim_on)
    nwb.add_acquisition(ImageSeries(name="camera", data=np.zeros((3, 4, 4), np.uint8), unit="n.a.",
                                    rate=1.0))
    nwb.add_stimulus(TimeSeries(name="current", data=np.linspace(0, 1e-9, 1000), unit="amperes",
                                rate=1000.0))
    nwb.add_trial_column(name="condition", description="condition")
    for k in range(5):
        nwb.add_trial(start_time=k * 2.0, stop_time=k * 2.0 + 0.5, condition=f"c{k % 2}")
    if EventsTable is not None:
        pulses = EventsTable(name="tms_pulses", description="TMS pulses")
        for k, t in enumerate([0.75, 3.25, 8.5]):
            pulses.add_row(timestamp=t, duration=0.001 if k else np.nan, annotation=f"pulse {k + 1}")
        nwb.add_events_table(pulses)
    nwb.add_epoch(start_time=0.0, stop_time=5.0, tags=["baseline"])
    nwb.add_epoch(start_time=5.0, stop_time=9.0, tags=["stim", "late"])
    nwb.add_unit(spike_times=[0.1, 0.2, 0.3])
    with NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)
    return path


def build_written(path: Path) -> Path:
    from tracemark.demo.nwb_writer import ExtraSeries, write_nwb

    rng = np.random.default_rng(3)
    data = rng.normal(0, 50, (5000, 3))
    write_nwb(path, [data[:1234], data[1234:]], channel_names=["Fz", "Cz", "Pz"], sampling_rate=500.0,
              n_samples=5000, start_datetime=KS_START, events=[(1.0, 0.0, "TMS"), (2.5, 0.1, "TMS")],
              extra_series=[ExtraSeries("pressure", rng.normal(size=300), "pascals",
                                        timestamps=np.sort(rng.uniform(0, 10, 300)))])
    return path


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    folder = tmp_path_factory.mktemp("nwb")
    with warnings.catch_warnings():
        # Deprecated types (AnnotationSeries, BehavioralEvents) on purpose: old files hold them.
        warnings.simplefilter("ignore")
        kitchen_sink = build_kitchen_sink(folder / "kitchen_sink.nwb")
    return {"kitchen_sink": kitchen_sink,
            "written": build_written(folder / "written.nwb")}


@pytest.fixture(params=shared_params("nwb", ".nwb") + ["kitchen_sink", "written"])
def nwb_path(request, generated) -> Path:
    return generated[request.param] if isinstance(request.param, str) else request.param


@pytest.fixture(scope="module")
def oracle_cache():
    """pynwb's reading of each file, made once per module: pynwb is the slow part."""
    ios: dict[Path, tuple] = {}
    yield ios
    for io, _ in ios.values():
        io.close()


@pytest.fixture
def pair(nwb_path, oracle_cache):
    """(our recording, pynwb's NWBFile) for the same file."""
    if nwb_path not in oracle_cache:
        io = NWBHDF5IO(str(nwb_path), "r")
        oracle_cache[nwb_path] = (io, io.read())
    with open_nwb(nwb_path) as rec:
        yield rec, oracle_cache[nwb_path][1]


# -- the oracle ---------------------------------------------------------------------------
def oracle_series(nwbfile) -> dict[str, TimeSeries]:
    """pynwb's TimeSeries with numeric 1-D/2-D data where the reader looks, by HDF5 path."""
    found = {}
    for obj in nwbfile.objects.values():
        if isinstance(obj, TimeSeries) and isinstance(obj.data, h5py.Dataset):
            path = obj.data.parent.name
            data = obj.data
            if (path.startswith(WALKED) and data.dtype.kind in "iufb" and data.ndim in (1, 2)
                    and data.shape[0] > 0):
                found[path] = obj
    return found


def oracle_values(series: TimeSeries, i0: int, i1: int, channels) -> np.ndarray:
    data = np.asarray(series.data[i0:i1], dtype=np.float64).reshape(i1 - i0, -1)
    scale = series.conversion * np.asarray(getattr(series, "channel_conversion", None) or 1.0)
    values = (data * scale + series.offset)[:, channels]
    return values * 1e6 if series.unit == "volts" else values  # the reader shows volts in uV


def oracle_times(series: TimeSeries, i0: int, i1: int, shift: float) -> np.ndarray:
    if series.timestamps is not None:
        return np.asarray(series.timestamps[i0:i1]) + shift
    return series.starting_time + shift + np.arange(i0, i1) / series.rate


def time_shift(nwbfile) -> float:
    return (nwbfile.timestamps_reference_time - nwbfile.session_start_time).total_seconds()


# -- comparisons on every file --------------------------------------------------------------
def test_every_numeric_series_is_a_stream_or_an_event_source(pair):
    rec, nwbfile = pair
    series = oracle_series(nwbfile)
    stream_ids = {s.stream_id for s in rec.header.streams}
    assert len(stream_ids) == len(rec.header.streams)
    assert stream_ids <= set(series)
    event_sources = {e.source for e in rec.events()}
    for path in set(series) - stream_ids:
        assert path[1:] in event_sources or path.split("/", 2)[2] in event_sources, path
    names = [s.name for s in rec.header.streams]
    assert len(set(names)) == len(names)


def test_samples_equal_pynwb_data_in_units(pair):
    rec, nwbfile = pair
    series = oracle_series(nwbfile)
    rng = np.random.default_rng(0)
    for index, stream in enumerate(rec.header.streams):
        ts, n = series[stream.stream_id], stream.n_samples
        assert n == ts.data.shape[0] and stream.raw_dtype == ts.data.dtype
        subsets = [None, list(range(stream.n_channels))[::-1], [0],
                   list(rng.integers(0, stream.n_channels, 3))]
        for i0, i1 in [(0, min(n, 10)), (n // 3, min(n, n // 3 + 257)), (max(n - 5, 0), n)]:
            for channels in subsets:
                chans = list(range(stream.n_channels)) if channels is None else channels
                got = rec.read_samples(i0, i1, channels, stream=index)
                expected = oracle_values(ts, i0, i1, chans)
                np.testing.assert_allclose(got, expected, rtol=2e-6,
                                           atol=1e-6 * np.abs(expected).max(initial=1e-30))
                raw = rec.read_raw(i0, i1, channels, stream=index)
                np.testing.assert_array_equal(raw, np.asarray(ts.data[i0:i1]).reshape(i1 - i0, -1)[:, chans])


def test_times_equal_pynwb_timestamps_and_rates(pair):
    rec, nwbfile = pair
    series, shift = oracle_series(nwbfile), time_shift(nwbfile)
    for index, stream in enumerate(rec.header.streams):
        ts, n = series[stream.stream_id], stream.n_samples
        assert stream.regular == (ts.timestamps is None)
        if stream.regular:
            assert stream.sampling_rate == pytest.approx(ts.rate)
        expected = oracle_times(ts, 0, n, shift)
        assert stream.start_offset_s == pytest.approx(expected[0])
        np.testing.assert_allclose(rec.sample_times(0, n, stream=index), expected, rtol=0, atol=1e-9)
        # sample_range: the samples whose times fall in [a, b), as searchsorted says.
        for a, b in [(expected[0] - 1, expected[0]), (expected[n // 2], expected[-1]),
                     (expected[0] + 0.37 * (expected[-1] - expected[0]), expected[-1] + 5)]:
            want = (np.searchsorted(expected, a - 1e-9 * stream.regular),
                    np.searchsorted(expected, b - 1e-9 * stream.regular))
            assert rec.sample_range(a, b, stream=index) == tuple(int(w) for w in want), (a, b)


def test_channel_names_come_from_the_electrodes_table(pair):
    rec, nwbfile = pair
    series = oracle_series(nwbfile)
    for stream in rec.header.streams:
        ts = series[stream.stream_id]
        region = getattr(ts, "electrodes", None)
        if region is None:
            base = ts.name
            expected = [base] if ts.data.ndim == 1 else [f"{base}[{i}]" for i in range(ts.data.shape[1])]
        else:
            table, rows = region.table, list(region.data[:])
            if "label" in table.colnames:
                expected = [str(table["label"][r]) for r in rows]
            else:
                expected = [f"{table['location'][r]} {table.id[r]}" for r in rows]
        assert list(stream.channel_names) == expected


def test_interval_tables_become_events(pair):
    rec, nwbfile = pair
    shift = time_shift(nwbfile)
    tables = [o for o in nwbfile.objects.values() if isinstance(o, TimeIntervals)]
    for table in tables:
        events = [e for e in rec.events() if e.source == table.name]
        assert len(events) == len(table), table.name
        starts = np.asarray(table["start_time"].data[:]) + shift
        stops = np.asarray(table["stop_time"].data[:]) + shift
        order = np.argsort(starts, kind="stable")
        np.testing.assert_allclose(sorted(e.time_s for e in events), starts[order])
        durations = np.nan_to_num(stops - starts, nan=0.0)  # an open interval lasts 0 s
        np.testing.assert_allclose(sorted(e.duration_s for e in events), np.sort(durations), atol=1e-9)


@pytest.mark.skipif(EventsTable is None, reason="this pynwb predates the core EventsTable")
def test_events_tables_become_events(pair):
    rec, nwbfile = pair
    shift = time_shift(nwbfile)
    for table in (o for o in nwbfile.objects.values() if isinstance(o, EventsTable)):
        events = [e for e in rec.events() if e.source == table.name]
        times = np.sort(np.asarray(table["timestamp"].data[:]) + shift)
        np.testing.assert_allclose([e.time_s for e in events], times)


def test_start_time_is_the_session_start(pair):
    rec, nwbfile = pair
    assert rec.header.start_datetime == nwbfile.session_start_time
    assert rec.header.start_datetime.tzinfo is not None
    assert rec.header.format_name == "NWB"
    assert [e.time_s for e in rec.events()] == sorted(e.time_s for e in rec.events())


def test_shared_files_are_untouched(nwb_path):
    digest = hashlib.sha256(nwb_path.read_bytes()).hexdigest()
    with open_recording(nwb_path) as rec:
        assert isinstance(rec, NwbRecording)
        for index, stream in enumerate(rec.header.streams):
            rec.read_samples(0, stream.n_samples, stream=index)
    assert hashlib.sha256(nwb_path.read_bytes()).hexdigest() == digest


# -- what the shared files are known to hold (../shared/data/README.md) ---------------------
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "nwb"


def _shared(name: str) -> Path:
    path = SHARED / name
    if not path.exists():
        pytest.skip(f"{path} is not present on this machine")
    return path


def test_dandi_file_trials_and_lick_times():
    path = _shared("dandi-cli_sub-anm369963_ses-20170228.nwb")
    with open_nwb(path) as rec, NWBHDF5IO(str(path), "r") as io:
        nwbfile = io.read()
        assert rec.header.streams == ()
        assert "no continuous signal" in dict(rec.header.details)["not shown"]
        licks = nwbfile.acquisition["lick_times"].time_series
        for name in ("lick_left_times", "lick_right_times"):
            times = [e.time_s for e in rec.events() if e.source == f"lick_times/{name}"]
            np.testing.assert_array_equal(times, np.sort(licks[name].timestamps[:]))
        trials = [e for e in rec.events() if e.source == "trials"]
        assert len(trials) == 178 == len(nwbfile.trials)
        assert {e.label for e in trials} == set(nwbfile.trials["type"].data[:])
    with pytest.raises(UnsupportedVariantError, match="no continuous signal"):
        open_nwb(path, require_streams=True)


def test_pynapple_file_has_position_streams_and_ripples():
    path = _shared("pynapple_neurosuite_A2929-200711.nwb")
    with open_nwb(path) as rec:
        names = [s.name for s in rec.header.streams]
        assert names == ["CompassDirection/rx", "CompassDirection/ry", "CompassDirection/rz",
                         "Position/x", "Position/y", "Position/z"]
        assert not any(s.regular for s in rec.header.streams)
        sources = {e.source for e in rec.events()}
        assert {"epochs", "sleep_ripples", "acquisition/sleep_ripples"} <= sources
        assert "15 units" in dict(rec.header.details)["not shown"]


def test_derived_eeg_is_in_microvolts():
    path = _shared("DERIVED_eeg64ch_128Hz_from_mne-testing-data_edf.nwb")
    with open_nwb(path) as rec, open_nwb(path, voltage_unit="V") as volts:
        stream = rec.header.streams[0]
        assert stream.units == ("uV",) * 64 and np.all(stream.gains == pytest.approx(1.0))
        assert volts.header.streams[0].units == ("V",) * 64
        np.testing.assert_allclose(rec.read(10, 12), volts.read(10, 12) * 1e6, rtol=1e-6)
        assert stream.channel_names[0] == "Fc5."
        assert sorted({e.label for e in rec.events() if e.source == "annotations"}) == ["T0", "T1", "T2"]


# -- the kitchen sink in detail -------------------------------------------------------------
def test_kitchen_sink_layout(generated):
    with open_nwb(generated["kitchen_sink"]) as rec:
        header = rec.header
        assert [s.name for s in header.streams] == [
            "raw", "ecephys/LFP/lfp", "behavior/Position/head", "stimulus/current"]
        raw = header.streams[0]
        assert raw.channel_names == ("CA1 15", "CA3 10", "CA1 13", "CA3 12")
        np.testing.assert_allclose(raw.gains, 2.0 * np.array([1.0, 0.5, 2.0, 1.5]))
        np.testing.assert_allclose(raw.offsets, 1000.0)
        assert raw.start_offset_s == pytest.approx(1.25 + KS_SHIFT)
        assert header.streams[3].units == ("A",)
        assert header.streams[2].units == ("m", "m")
        assert "time reference" in dict(header.details)
        not_shown = dict(header.details)["not shown"]
        assert "camera" in not_shown and "units" in not_shown
        by_source: dict[str, list] = {}
        for event in rec.events():
            by_source.setdefault(event.source, []).append(event)
        assert [e.label for e in by_source["notes"]] == ["eyes closed", "eyes open"]
        stim_on = [(e.time_s - KS_SHIFT, e.duration_s) for e in by_source["stim_on"]]
        np.testing.assert_allclose(stim_on, [(1.0, 0.5), (6.0, 0.2)])
        assert len(by_source["behavior/BehavioralEvents/reward"]) == 7
        assert [e.label for e in by_source["sleep_stages"]] == ["wake", "N1", "N2"]
        assert [e.label for e in by_source["epochs"]] == ["baseline", "stim, late"]
        assert [e.label for e in by_source["trials"]] == ["c0", "c1", "c0", "c1", "c0"]
        if EventsTable is not None:
            assert [(e.time_s - KS_SHIFT, e.duration_s, e.label) for e in by_source["tms_pulses"]] == [
                (0.75, 0.0, "pulse 1"), (3.25, 0.001, "pulse 2"), (8.5, 0.001, "pulse 3")]


def test_extension_events_links_and_rate_sampled_behaviour(generated, tmp_path):
    """Objects pynwb cannot read without extensions, laid out as their specs say."""
    def augment(h5file):
        acquisition = h5file["acquisition"]
        ttl = acquisition.create_group("ttl_events")  # ndx-events 0.2 Events: timestamps only
        ttl.attrs["neurodata_type"] = "Events"
        ttl["timestamps"] = [1.0, 2.0]
        labeled = acquisition.create_group("cues")  # ndx-events 0.2 LabeledEvents
        labeled.attrs["neurodata_type"] = "LabeledEvents"
        labeled.attrs["labels"] = ["go", "stop"]
        labeled["timestamps"] = [3.0, 4.0, 5.0]
        labeled["data"] = np.array([0, 1, 0], np.uint8)
        box = acquisition.create_group("box")  # a second name for a series is no second stream
        box.attrs["neurodata_type"] = "LFP"
        box["raw_again"] = h5py.SoftLink("/acquisition/raw")
        events = h5file["processing/behavior"].create_group("sensors")
        events.attrs["neurodata_type"] = "BehavioralEvents"
        sensor = events.create_group("lick_sensor")  # sampled at a rate: a signal
        sensor.attrs["neurodata_type"] = "TimeSeries"
        sensor["data"] = np.arange(100.0)
        sensor["data"].attrs["unit"] = "a.u."
        sensor["starting_time"] = 0.5
        sensor["starting_time"].attrs["rate"] = 50.0

    path = _damaged(tmp_path, generated["kitchen_sink"], augment)
    with open_nwb(path) as rec:
        names = [s.name for s in rec.header.streams]
        assert "box/raw_again" not in names and names.count("raw") == 1
        sensor = rec.header.stream("behavior/sensors/lick_sensor")
        assert sensor.sampling_rate == 50.0 and sensor.start_offset_s == pytest.approx(0.5 + KS_SHIFT)
        events = rec.events()
        assert [e.time_s - KS_SHIFT for e in events if e.source == "ttl_events"] == [1.0, 2.0]
        assert [e.label for e in events if e.source == "cues"] == ["go", "stop", "go"]


def test_binary_search_reads_few_timestamps(tmp_path):
    from tracemark.demo.nwb_writer import ExtraSeries, write_nwb

    n = 300_000
    times = np.cumsum(np.random.default_rng(1).uniform(0.001, 0.002, n))
    path = write_nwb(tmp_path / "irregular.nwb", [np.zeros((100, 1))], channel_names=["A"],
                     sampling_rate=100.0, n_samples=100,
                     extra_series=[ExtraSeries("sparse", np.zeros(n), "a.u.", timestamps=times)])
    with open_nwb(path) as rec:
        index = rec.header.stream_index("sparse")
        assert not rec.header.streams[index].regular
        counting = _CountingDataset(rec._timestamps[index])
        rec._timestamps[index] = counting
        for a in np.random.default_rng(2).uniform(times[0], times[-1], 20):
            assert rec.sample_range(a, a + 1.0, stream=index) == (
                int(np.searchsorted(times, a)), int(np.searchsorted(times, a + 1.0)))
        per_call = counting.elements_read / 20
        assert per_call < 2 * (4096 + 2 * np.log2(n)), per_call  # never the 300 000 timestamps


class _CountingDataset:
    """Wraps an h5py dataset and counts the elements read through it."""

    def __init__(self, dataset):
        self._dataset, self.elements_read = dataset, 0

    def __getitem__(self, key):
        value = self._dataset[key]
        self.elements_read += np.size(value)
        return value


def test_writer_file_reads_back(generated):
    with open_nwb(generated["written"]) as rec:
        assert rec.header.streams[0].channel_names == ("Fz", "Cz", "Pz")
        assert rec.header.stream("pressure").regular is False
        assert [(e.time_s, e.label, e.source) for e in rec.events()] == [
            (1.0, "TMS", "stimulation"), (2.5, "TMS", "stimulation")]


# -- lifetime and threads -------------------------------------------------------------------
def test_close_during_reads_is_safe(generated):
    rec = open_nwb(generated["kitchen_sink"])
    errors: list[BaseException] = []
    started = threading.Barrier(5)

    def reader():
        started.wait()
        try:
            for k in range(2000):
                rec.read_samples(k % 2000, k % 2000 + 500, [3, 0, 1])
                rec.sample_range(1.0, 2.0, stream=2)
        except RecordingClosedError:
            return
        except BaseException as exc:  # noqa: BLE001 -- any other error is the failure
            errors.append(exc)

    threads = [threading.Thread(target=reader) for _ in range(4)]
    for thread in threads:
        thread.start()
    started.wait()
    rec.close()
    for thread in threads:
        thread.join()
    assert not errors, errors
    with pytest.raises(RecordingClosedError):
        rec.sample_range(0.0, 1.0, stream=2)
    with pytest.raises(RecordingClosedError):
        rec.sample_times(0, 5, stream=2)


def _open_paths() -> list[str]:
    return sorted(f.path for f in psutil.Process().open_files())


def test_no_handle_survives_close_or_a_failed_open(generated, tmp_path):
    broken = tmp_path / "broken.nwb"
    shutil.copy(generated["kitchen_sink"], broken)
    with h5py.File(broken, "r+") as h5file:
        del h5file["acquisition/raw/data"]
    gc.collect()
    before = _open_paths()
    rec = open_nwb(generated["kitchen_sink"])
    rec.read(0, 1)
    rec.close()
    with pytest.raises(CorruptRecordingError):
        open_nwb(broken)
    gc.collect()
    assert _open_paths() == before


# -- damaged and foreign files --------------------------------------------------------------
def _damaged(tmp_path: Path, source: Path, edit) -> Path:
    path = tmp_path / "damaged.nwb"
    shutil.copy(source, path)
    with h5py.File(path, "r+") as h5file:
        edit(h5file)
    return path


def _expect(error_type, path: Path, *words: str):
    with pytest.raises(error_type) as caught:
        open_nwb(path)
    message = str(caught.value)
    assert path.name in message and caught.value.path == path
    for word in words:
        assert word in message, message
    return caught.value


def test_truncated_file(generated, tmp_path):
    path = tmp_path / "truncated.nwb"
    data = generated["written"].read_bytes()
    path.write_bytes(data[: len(data) // 2])
    _expect(TruncatedRecordingError, path, "truncated")


def test_plain_hdf5_is_not_nwb(tmp_path):
    path = tmp_path / "plain.h5"
    with h5py.File(path, "w") as h5file:
        h5file["signal"] = np.zeros((10, 2))
    _expect(UnsupportedFormatError, path, "not NWB")
    with pytest.raises(UnsupportedFormatError):
        open_recording(path)


def test_not_hdf5_at_all(tmp_path):
    path = tmp_path / "text.nwb"
    path.write_text("hello, not a recording\n")
    _expect(UnsupportedFormatError, path, "not an HDF5 file")


def test_missing_file(tmp_path):
    _expect(RecordingError, tmp_path / "absent.nwb", "no such file")


def test_nwb_1_is_refused_clearly(tmp_path):
    path = tmp_path / "old.nwb"
    with h5py.File(path, "w") as h5file:
        h5file["nwb_version"] = "NWB-1.0.6"
    _expect(UnsupportedVariantError, path, "NWB 1.x")


def test_missing_data_dataset(generated, tmp_path):
    path = _damaged(tmp_path, generated["kitchen_sink"], lambda f: f.__delitem__("acquisition/raw/data"))
    _expect(CorruptRecordingError, path, "/acquisition/raw", "'data'")


def test_timestamps_of_the_wrong_length(generated, tmp_path):
    def shorten(h5file):
        group = h5file["processing/behavior/Position/head"]
        times = group["timestamps"][:-3]
        del group["timestamps"]
        group["timestamps"] = times
    path = _damaged(tmp_path, generated["kitchen_sink"], shorten)
    _expect(CorruptRecordingError, path, "/processing/behavior/Position/head", "500 samples")


def test_electrodes_that_do_not_match_the_channels(generated, tmp_path):
    def drop_one(h5file):
        region = h5file["acquisition/raw/electrodes"]
        rows, attrs = region[:-1], dict(region.attrs)
        del h5file["acquisition/raw/electrodes"]
        new = h5file["acquisition/raw"].create_dataset("electrodes", data=rows)
        for key, value in attrs.items():
            new.attrs[key] = value
    path = _damaged(tmp_path, generated["kitchen_sink"], drop_one)
    _expect(CorruptRecordingError, path, "4 channels but 3 electrodes")


def test_a_damaged_chunk_is_reported_when_read(tmp_path):
    from tracemark.demo.nwb_writer import write_nwb

    path = write_nwb(tmp_path / "gz.nwb", [np.random.default_rng(0).normal(0, 50, (3 * 4096, 2))],
                     channel_names=["A", "B"], sampling_rate=1000.0, n_samples=3 * 4096,
                     compression="gzip")
    with h5py.File(path, "r") as h5file:
        chunk = h5file["acquisition/ElectricalSeries/data"].id.get_chunk_info(1)
    with open(path, "r+b") as handle:
        handle.seek(chunk.byte_offset)
        handle.write(b"\xff" * 64)
    with open_nwb(path) as rec:
        rec.read_samples(0, 4096)  # the intact first chunk still reads
        with pytest.raises(CorruptRecordingError) as caught:
            rec.read_samples(4096, 8192)
        assert path.name in str(caught.value) and "/acquisition/ElectricalSeries" in str(caught.value)


def test_missing_session_start_time(generated, tmp_path):
    path = _damaged(tmp_path, generated["written"], lambda f: f.__delitem__("session_start_time"))
    _expect(CorruptRecordingError, path, "session_start_time")


def test_bad_voltage_unit_option(generated):
    with pytest.raises(ValueError, match="voltage_unit"):
        open_nwb(generated["written"], voltage_unit="kV")
