"""NWB-Zarr stores streamed from a local HTTP server equal the same NWB content read from HDF5.

One pynwb NWBFile is written twice, by pynwb to HDF5 and by hdmf-zarr to Zarr; the Zarr
store is served over HTTP on 127.0.0.1 and must read as the HDF5 file does, sample for sample.
"""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
import pytest
from remote_server import RangeServer

from tracemark.io_backends import open_recording
from tracemark.io_backends.remote.errors import RemoteRecordingError

pytest.importorskip("hdmf_zarr")
pytest.importorskip("aiohttp")


def _nwbfile():
    from pynwb import NWBFile, TimeSeries
    from pynwb.ecephys import ElectricalSeries

    nwb = NWBFile("remote zarr test", "zarr-1", datetime(2024, 1, 1, 9, tzinfo=timezone.utc))
    device = nwb.create_device("amp")
    group = nwb.create_electrode_group("grid", "test grid", "cortex", device)
    for i in range(6):
        nwb.add_electrode(group=group, location=f"L{i}")
    region = nwb.create_electrode_table_region(list(range(6)), "all")
    rng = np.random.default_rng(5)
    data = rng.integers(-3000, 3000, (5000, 6)).astype(np.int16)
    nwb.add_acquisition(ElectricalSeries(name="grid", data=data, electrodes=region, rate=1000.0,
                                         conversion=1e-7, starting_time=0.5))
    nwb.add_acquisition(TimeSeries(name="pressure", data=rng.normal(0, 1, 800), unit="Pa", rate=100.0))
    nwb.add_trial(start_time=1.0, stop_time=1.5)
    nwb.add_trial(start_time=3.0, stop_time=3.2)
    return nwb


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    from hdmf_zarr.nwb import NWBZarrIO
    from pynwb import NWBHDF5IO

    folder = tmp_path_factory.mktemp("zarr")
    with NWBHDF5IO(str(folder / "x.nwb"), "w") as io:
        io.write(_nwbfile())
    with NWBZarrIO(str(folder / "x.nwb.zarr"), mode="w") as io:
        io.write(_nwbfile())
    objects = {str(p.relative_to(folder)): p for p in (folder / "x.nwb.zarr").rglob("*") if p.is_file()}
    return folder / "x.nwb", objects


def test_an_nwb_zarr_store_reads_like_the_same_nwb_in_hdf5(written):
    hdf5, objects = written
    with RangeServer(objects) as server:
        url = server.url("x.nwb.zarr")
        with open_recording(url) as remote, open_recording(hdf5) as local:
            assert str(remote.path) == url and remote.header.format_name == "NWB-Zarr"
            assert len(remote.header.streams) == len(local.header.streams) == 2
            for r, loc in zip(remote.header.streams, local.header.streams):
                assert (r.channel_names, r.units, r.n_samples, r.sampling_rate, r.start_offset_s) == \
                       (loc.channel_names, loc.units, loc.n_samples, loc.sampling_rate, loc.start_offset_s)
                np.testing.assert_allclose(r.gains, loc.gains)
            for index, stream in enumerate(local.header.streams):
                np.testing.assert_array_equal(remote.read_samples(0, stream.n_samples, None, index),
                                              local.read_samples(0, stream.n_samples, None, index))
                np.testing.assert_array_equal(remote.read_raw(100, 400, [0, 0], index),
                                              local.read_raw(100, 400, [0, 0], index))
            assert [(e.time_s, e.duration_s) for e in remote.events()] == \
                   [(e.time_s, e.duration_s) for e in local.events() if e.source == "trials"]


def test_a_missing_zarr_store_is_a_typed_error(written):
    with RangeServer({}) as server, pytest.raises(RemoteRecordingError) as caught:
        open_recording(server.url("nothing.nwb.zarr"))
    assert "nothing.nwb.zarr" in str(caught.value)


def test_a_silent_server_times_out_on_a_zarr_store(written):
    _, objects = written
    with RangeServer(objects) as server:
        server.faults.stall = True
        with pytest.raises(RemoteRecordingError) as caught:
            open_recording(server.url("x.nwb.zarr"), timeout=0.5)
    assert "x.nwb.zarr" in str(caught.value)
