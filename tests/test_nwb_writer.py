"""The NWB writer: files pynwb reads without a warning, holding exactly what was streamed in.

pynwb is the oracle; Tracemark's own reader must agree with it.
"""

from __future__ import annotations

import tracemalloc
import warnings
from datetime import datetime, timedelta, timezone
from pathlib import Path

import h5py
import numpy as np
import pytest

from tracemark.demo.nwb_writer import ExtraSeries, write_nwb
from tracemark.io_backends.nwb import open_nwb

pynwb = pytest.importorskip("pynwb", reason="pynwb is the oracle for the NWB writer")
from pynwb import NWBHDF5IO  # noqa: E402

START = datetime(2024, 3, 1, 9, 30, 0, tzinfo=timezone(timedelta(hours=1)))
NAMES = ["Fp1", "Fp2", "C3", "C4", "EMG"]
RATE = 1024.0


def _signal(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.normal(0, 40, (n, len(NAMES))) + 25 * np.sin(np.arange(n) / 30)[:, None]


def _split(data: np.ndarray, sizes) -> list[np.ndarray]:
    """Chunks of uneven sizes that do not line up with the HDF5 chunks."""
    return np.split(data, np.cumsum(sizes)[:-1]) if len(sizes) > 1 else [data]


def read_with_pynwb(path: Path):
    """Read every object with pynwb and turn any warning into a failure."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with NWBHDF5IO(str(path), "r") as io:
            nwbfile = io.read()
            series = nwbfile.acquisition["ElectricalSeries"]
            return {
                "data": series.data[:], "conversion": series.conversion, "rate": series.rate,
                "unit": series.unit, "start": nwbfile.session_start_time,
                "labels": list(series.electrodes.table["label"][:]),
                "intervals": {name: (table["start_time"].data[:], table["stop_time"].data[:],
                                     list(table["label"].data[:]) if "label" in table.colnames else None)
                              for name, table in nwbfile.intervals.items()},
                "acquisition": sorted(nwbfile.acquisition), "stimulus": sorted(nwbfile.stimulus),
            }


def test_round_trip_through_pynwb_and_tracemark(tmp_path):
    n = 10_000 + 37
    data = _signal(n)
    events = [(2.0, 0.0, "TMS"), (0.5, 0.25, "note: eyes closed"), (7.5, 0.0, "TMS")]
    path = write_nwb(tmp_path / "rt.nwb", _split(data, [1000, 3, 5000, n - 6003]),
                     channel_names=NAMES, sampling_rate=RATE, n_samples=n, start_datetime=START,
                     events=events)
    oracle = read_with_pynwb(path)
    gain = 0.1  # uV per count by default
    assert oracle["data"].dtype == np.int16 and oracle["data"].shape == (n, len(NAMES))
    np.testing.assert_array_equal(oracle["data"], np.rint(data / gain).astype(np.int16))
    assert oracle["conversion"] == pytest.approx(gain * 1e-6) and oracle["unit"] == "volts"
    assert oracle["rate"] == RATE and oracle["start"] == START and oracle["labels"] == NAMES
    starts, stops, labels = oracle["intervals"]["stimulation"]
    np.testing.assert_allclose(starts, [0.5, 2.0, 7.5])
    np.testing.assert_allclose(stops - starts, [0.25, 0.0, 0.0])
    assert labels == ["note: eyes closed", "TMS", "TMS"]
    with open_nwb(path) as rec:
        stream = rec.header.streams[0]
        assert stream.channel_names == tuple(NAMES) and stream.units == ("uV",) * len(NAMES)
        got = rec.read_samples(0, n)
        assert np.max(np.abs(got - data)) <= gain / 2 + 1e-4
        assert [(e.time_s, e.duration_s, e.label) for e in rec.events()] == sorted(events)
        assert rec.header.start_datetime == START


def test_layout_is_chunked_for_time_windows_and_uncompressed(tmp_path):
    n = 3 * 4096 + 100
    path = write_nwb(tmp_path / "layout.nwb", [_signal(n)], channel_names=NAMES, sampling_rate=RATE,
                     n_samples=n, start_datetime=START)
    with h5py.File(path, "r") as h5file:
        data = h5file["acquisition/ElectricalSeries/data"]
        assert data.chunks == (4096, len(NAMES)) and data.compression is None
    small = write_nwb(tmp_path / "small.nwb", [_signal(100)], channel_names=NAMES, sampling_rate=RATE,
                      n_samples=100, start_datetime=START, chunk_samples=8192, compression="gzip")
    with h5py.File(small, "r") as h5file:
        data = h5file["acquisition/ElectricalSeries/data"]
        assert data.chunks == (100, len(NAMES)) and data.compression == "gzip"


def test_integer_chunks_are_stored_as_given_counts(tmp_path):
    counts = np.random.default_rng(1).integers(-32768, 32767, (3000, len(NAMES)), dtype=np.int16)
    path = write_nwb(tmp_path / "counts.nwb", _split(counts, [999, 2001]), channel_names=NAMES,
                     sampling_rate=RATE, n_samples=3000, units="mV", gain=0.002, start_datetime=START)
    oracle = read_with_pynwb(path)
    np.testing.assert_array_equal(oracle["data"], counts)
    assert oracle["conversion"] == pytest.approx(0.002 * 1e-3)
    with pytest.raises(ValueError, match="int16 counts"):
        write_nwb(tmp_path / "too_big.nwb", [np.full((10, len(NAMES)), 40_000)], channel_names=NAMES,
                  sampling_rate=RATE, n_samples=10, start_datetime=START)


def test_values_beyond_the_int16_range_are_clipped_and_reported(tmp_path):
    data = _signal(2000)
    data[100, 2] = 5000.0  # > 3276.7 uV
    data[200, 0] = -9000.0
    with pytest.warns(RuntimeWarning, match="2 sample values"):
        path = write_nwb(tmp_path / "clip.nwb", [data], channel_names=NAMES, sampling_rate=RATE,
                         n_samples=2000, start_datetime=START)
    with open_nwb(path) as rec:
        got = rec.read_samples(0, 2000)
    assert got[100, 2] == pytest.approx(3276.7) and got[200, 0] == pytest.approx(-3276.8)


def test_extra_series_and_nwb_tables(tmp_path):
    rng = np.random.default_rng(2)
    extra = [ExtraSeries("coil_current", rng.normal(size=(500, 2)), "amperes", rate=100.0,
                         starting_time=1.5, stimulus=True),
             ExtraSeries("temperature", rng.normal(36, 0.1, 40), "degrees Celsius",
                         timestamps=np.sort(rng.uniform(0, 10, 40)))]
    for table in ("trials", "epochs"):
        path = write_nwb(tmp_path / f"{table}.nwb", [_signal(4096)], channel_names=NAMES,
                         sampling_rate=RATE, n_samples=4096, start_datetime=START,
                         events=[(1.0, 0.5, "a"), (2.0, 0.5, "b")], events_table=table,
                         extra_series=extra)
        oracle = read_with_pynwb(path)
        assert list(oracle["intervals"][table][0]) == [1.0, 2.0]
        assert oracle["acquisition"] == ["ElectricalSeries", "temperature"]
        assert oracle["stimulus"] == ["coil_current"]
        with open_nwb(path) as rec:
            assert [s.name for s in rec.header.streams] == [
                "ElectricalSeries", "temperature", "stimulus/coil_current"]
            coil = rec.header.stream("stimulus/coil_current")
            assert coil.start_offset_s == 1.5 and coil.channel_names == ("coil_current[0]", "coil_current[1]")
            assert [(e.label, e.source) for e in rec.events()] == [("a", table), ("b", table)]


def test_chunks_are_streamed_not_collected(tmp_path):
    import pynwb  # noqa: F401 -- imported before measuring: its import is not the writer's memory

    n_chunks, chunk = 60, _signal(4096)
    total_bytes = n_chunks * chunk.nbytes  # ~9.8 MB of float64 streamed in
    tracemalloc.start()
    try:
        write_nwb(tmp_path / "stream.nwb", (chunk for _ in range(n_chunks)), channel_names=NAMES,
                  sampling_rate=RATE, n_samples=n_chunks * 4096, start_datetime=START)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < total_bytes / 3, (peak, total_bytes)


def test_wrong_sample_count_leaves_no_file(tmp_path):
    path = tmp_path / "short.nwb"
    with pytest.raises(ValueError, match="held 1000 samples but n_samples=1500"):
        write_nwb(path, [_signal(1000)], channel_names=NAMES, sampling_rate=RATE, n_samples=1500,
                  start_datetime=START)
    with pytest.raises(ValueError, match="more than n_samples"):
        write_nwb(path, [_signal(1000), _signal(1000)], channel_names=NAMES, sampling_rate=RATE,
                  n_samples=1500, start_datetime=START)
    with pytest.raises(ValueError, match=r"expected \(k, 5\)"):
        write_nwb(path, [np.zeros((10, 3))], channel_names=NAMES, sampling_rate=RATE,
                  n_samples=10, start_datetime=START)
    assert list(tmp_path.iterdir()) == []


def test_existing_files_are_kept_unless_overwrite(tmp_path):
    path = tmp_path / "exists.nwb"
    path.write_bytes(b"precious")
    with pytest.raises(FileExistsError):
        write_nwb(path, [_signal(10)], channel_names=NAMES, sampling_rate=RATE, n_samples=10)
    assert path.read_bytes() == b"precious"
    write_nwb(path, [_signal(10)], channel_names=NAMES, sampling_rate=RATE, n_samples=10, overwrite=True)
    assert read_with_pynwb(path)["data"].shape == (10, len(NAMES))


def test_start_time_defaults(tmp_path):
    naive = datetime(2022, 6, 1, 12, 0, 0)
    path = write_nwb(tmp_path / "naive.nwb", [_signal(10)], channel_names=NAMES, sampling_rate=RATE,
                     n_samples=10, start_datetime=naive)
    start = read_with_pynwb(path)["start"]
    assert start.tzinfo is not None and start == naive.astimezone()
    before = datetime.now(timezone.utc).replace(microsecond=0)
    path = write_nwb(tmp_path / "now.nwb", [_signal(10)], channel_names=NAMES, sampling_rate=RATE,
                     n_samples=10)
    assert before <= read_with_pynwb(path)["start"] <= datetime.now(timezone.utc)


def test_bad_arguments(tmp_path):
    common = dict(channel_names=NAMES, sampling_rate=RATE, n_samples=10)
    with pytest.raises(ValueError, match="units"):
        write_nwb(tmp_path / "a.nwb", [_signal(10)], units="furlongs", **common)
    with pytest.raises(ValueError, match="positive sampling rate"):
        write_nwb(tmp_path / "b.nwb", [_signal(10)], **{**common, "sampling_rate": 0})
    assert list(tmp_path.iterdir()) == []
