"""NWB-Zarr stores read equal to the same NWB content read from HDF5, wherever the store is.

One pynwb NWBFile is written twice, by pynwb to HDF5 and by hdmf-zarr to Zarr. The Zarr
store is served over HTTP on 127.0.0.1 (as a plain URL, and as a DANDI Zarr asset behind a
fake DANDI API) and opened as a local folder; each must read as the HDF5 file does, sample
for sample.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pytest
from remote_server import RangeServer

from tracemark.app.cli import main
from tracemark.io_backends import open_recording
from tracemark.io_backends.errors import MissingDependencyError, UnsupportedFormatError
from tracemark.io_backends.remote.errors import RemoteNotFoundError, RemoteRecordingError
from tracemark.io_backends.remote.locations import RemotePath

ZARR_ASSET_ID = "7c1d2e3f-4a5b-4c6d-8e9f-0a1b2c3d4e5f"
ZARR_ID = "acfaff07-8d4d-4fc1-adce-c769579c5c61"
ZARR_PATH = "sub-RAT123/x.nwb.zarr"


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


class Written(NamedTuple):
    hdf5: Path
    store: Path
    #: The store's objects by their path inside the store (".zmetadata", "acquisition/...").
    objects: dict[str, Path]

    def served_at(self, prefix: str, *, without: str = "") -> dict[str, Path]:
        return {f"{prefix}{name}": path for name, path in self.objects.items() if name != without}


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    pytest.importorskip("hdmf_zarr")
    pytest.importorskip("aiohttp")
    from hdmf_zarr.nwb import NWBZarrIO
    from pynwb import NWBHDF5IO

    folder = tmp_path_factory.mktemp("zarr")
    with NWBHDF5IO(str(folder / "x.nwb"), "w") as io:
        io.write(_nwbfile())
    store = folder / "x.nwb.zarr"
    with NWBZarrIO(str(store), mode="w") as io:
        io.write(_nwbfile())
    objects = {p.relative_to(store).as_posix(): p for p in store.rglob("*") if p.is_file()}
    return Written(folder / "x.nwb", store, objects)


def assert_reads_like(zarr, hdf5) -> None:
    assert zarr.header.format_name == "NWB-Zarr"
    assert len(zarr.header.streams) == len(hdf5.header.streams) == 2
    for z, h in zip(zarr.header.streams, hdf5.header.streams):
        assert (z.channel_names, z.units, z.n_samples, z.sampling_rate, z.start_offset_s) == \
               (h.channel_names, h.units, h.n_samples, h.sampling_rate, h.start_offset_s)
        np.testing.assert_allclose(z.gains, h.gains)
    for index, stream in enumerate(hdf5.header.streams):
        np.testing.assert_array_equal(zarr.read_samples(0, stream.n_samples, None, index),
                                      hdf5.read_samples(0, stream.n_samples, None, index))
        np.testing.assert_array_equal(zarr.read_raw(100, 400, [0, 0], index),
                                      hdf5.read_raw(100, 400, [0, 0], index))
    assert [(e.time_s, e.duration_s) for e in zarr.events()] == \
           [(e.time_s, e.duration_s) for e in hdf5.events() if e.source == "trials"]


# -- a URL ending in .zarr ------------------------------------------------------------------
def test_an_nwb_zarr_store_reads_like_the_same_nwb_in_hdf5(written):
    with RangeServer(written.served_at("x.nwb.zarr/")) as server:
        url = server.url("x.nwb.zarr")
        with open_recording(url) as remote, open_recording(written.hdf5) as local:
            assert str(remote.path) == url
            assert_reads_like(remote, local)


def test_a_missing_zarr_store_is_a_typed_error(written):
    with RangeServer({}) as server, pytest.raises(RemoteNotFoundError) as caught:
        open_recording(server.url("nothing.nwb.zarr"))
    assert "nothing.nwb.zarr" in str(caught.value)


def test_a_silent_server_times_out_on_a_zarr_store(written):
    with RangeServer(written.served_at("x.nwb.zarr/")) as server:
        server.faults.stall = True
        with pytest.raises(RemoteRecordingError) as caught:
            open_recording(server.url("x.nwb.zarr"), timeout=0.5)
    assert "x.nwb.zarr" in str(caught.value)


# -- DANDI Zarr assets ----------------------------------------------------------------------
def serve_dandi_zarr_asset(server: RangeServer, content_url: list[str] | None = None) -> str:
    """Answer the DANDI API requests for one Zarr asset, with the shapes of api.dandiarchive.org:
    the listing entry carries a ``zarr`` id (a blob's carries ``blob``), and the asset's
    metadata lists the API download URL and the store's folder on S3 (here: on ``server``)."""
    api = f"{server.base}/api"
    server.json_routes["/api/dandisets/000027/"] = json.dumps(
        {"identifier": "000027", "most_recent_published_version": {"version": "0.210831.2033"}}).encode()
    entry = {"asset_id": ZARR_ASSET_ID, "path": ZARR_PATH, "zarr": ZARR_ID, "size": 1,
             "created": "2024-01-01T00:00:00Z", "modified": "2024-01-01T00:00:00Z"}
    server.json_routes["/api/dandisets/000027/versions/0.210831.2033/assets/"
                       "?path=sub-RAT123%2Fx.nwb.zarr"] = json.dumps({"count": 1, "results": [entry]}).encode()
    metadata = {"id": f"dandiasset:{ZARR_ASSET_ID}", "identifier": ZARR_ASSET_ID, "path": ZARR_PATH,
                "encodingFormat": "application/x-zarr",
                "contentUrl": content_url if content_url is not None else
                [f"{api}/assets/{ZARR_ASSET_ID}/download/", server.url(f"zarr/{ZARR_ID}/")]}
    server.json_routes[f"/api/assets/{ZARR_ASSET_ID}/"] = json.dumps(metadata).encode()
    return api


@pytest.fixture
def dandi_zarr_api(written, monkeypatch):
    with RangeServer(written.served_at(f"zarr/{ZARR_ID}/")) as server:
        monkeypatch.setenv("TRACEMARK_DANDI_API_URL", serve_dandi_zarr_asset(server))
        yield server


@pytest.mark.parametrize("name", ["identifier", "asset URL"])
def test_a_dandi_zarr_asset_reads_like_the_same_nwb_in_hdf5(dandi_zarr_api, written, name):
    url = {"identifier": f"dandi://dandi/000027/{ZARR_PATH}",
           "asset URL": f"{dandi_zarr_api.base}/api/assets/{ZARR_ASSET_ID}/"}[name]
    with open_recording(url) as remote, open_recording(written.hdf5) as local:
        assert str(remote.path) == url
        assert_reads_like(remote, local)


def test_a_dandi_zarr_asset_resolves_to_its_store_folder(dandi_zarr_api):
    from tracemark.io_backends.remote.dandi import resolve_asset

    asset = resolve_asset(f"dandi://dandi/000027@0.210831.2033/{ZARR_PATH}")
    assert asset.is_zarr and asset.address == dandi_zarr_api.url(f"zarr/{ZARR_ID}/")


def test_a_dandi_zarr_asset_without_consolidated_metadata_is_not_found(written, monkeypatch):
    with RangeServer(written.served_at(f"zarr/{ZARR_ID}/", without=".zmetadata")) as server:
        monkeypatch.setenv("TRACEMARK_DANDI_API_URL", serve_dandi_zarr_asset(server))
        url = f"dandi://dandi/000027/{ZARR_PATH}"
        with pytest.raises(RemoteNotFoundError) as caught:
            open_recording(url)
    assert url in str(caught.value) and ".zmetadata" in caught.value.problem


def test_a_dandi_zarr_asset_without_a_storage_address_is_a_typed_error(monkeypatch):
    with RangeServer({}) as server:
        api = serve_dandi_zarr_asset(server, content_url=[])
        monkeypatch.setenv("TRACEMARK_DANDI_API_URL", api)
        url = f"{api}/assets/{ZARR_ASSET_ID}/"
        with pytest.raises(RemoteRecordingError) as caught:
            open_recording(url)
    assert url in str(caught.value) and "contentUrl" in caught.value.problem


# -- a local folder -------------------------------------------------------------------------
@pytest.mark.parametrize("given", [Path, str])
def test_a_local_nwb_zarr_folder_reads_like_the_same_nwb_in_hdf5(written, given):
    with open_recording(given(written.store)) as folder, open_recording(written.hdf5) as local:
        assert type(folder.header.path) is type(Path()) and not isinstance(folder.header.path, RemotePath)
        assert folder.header.path == written.store and folder.header.path.name == "x.nwb.zarr"
        assert_reads_like(folder, local)


def test_tracemark_info_describes_a_local_nwb_zarr_folder(written, capsys):
    assert main(["info", str(written.store), "--json"]) == 0
    out = capsys.readouterr().out
    assert "NWB-Zarr" in out and "x.nwb.zarr" in out


def test_a_local_zarr_folder_without_hdmf_zarr_is_a_missing_dependency(tmp_path, monkeypatch):
    store = tmp_path / "y.nwb.zarr"
    store.mkdir()
    (store / ".zgroup").write_text('{"zarr_format": 2}')
    for name in [m for m in sys.modules if m == "hdmf_zarr" or m.startswith("hdmf_zarr.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "hdmf_zarr", None)   # `import hdmf_zarr` now fails
    with pytest.raises(MissingDependencyError) as caught:
        open_recording(store)
    assert caught.value.path == store and "hdmf-zarr" in caught.value.problem


def test_a_zarr_named_folder_that_is_no_zarr_store_is_unsupported(tmp_path):
    folder = tmp_path / "empty.zarr"
    folder.mkdir()
    with pytest.raises(UnsupportedFormatError) as caught:
        open_recording(folder)
    assert caught.value.path == folder and ".zgroup" in caught.value.problem


def test_the_window_opens_a_local_nwb_zarr_folder_given_on_the_command_line(written, qtbot):
    from tracemark.app.main_window import MainWindow

    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    try:
        assert window.opener.open_paths([str(written.store)])   # what `tracemark FOLDER` does
        qtbot.waitUntil(lambda: window.viewer.last_result is not None
                        and window.viewer.last_result.origin != "pending", timeout=30_000)
        assert window.recording.header.format_name == "NWB-Zarr"
        assert window.windowTitle().startswith("x.nwb.zarr")
    finally:
        window.opener.close_all()


def test_file_open_recording_folder_opens_a_local_nwb_zarr_store(written, qtbot, monkeypatch):
    from PyQt6.QtWidgets import QFileDialog

    from tracemark.app.main_window import MainWindow

    asked = []
    monkeypatch.setattr(QFileDialog, "getExistingDirectory",
                        lambda *args, **kwargs: asked.append(args) or str(written.store))
    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    try:
        window.window_actions["open_folder"].trigger()
        qtbot.waitUntil(lambda: window.recording is not None, timeout=30_000)
        assert asked, "the folder dialog was not shown"
        assert window.recording.header.format_name == "NWB-Zarr"
        assert window.recording.header.path == written.store
    finally:
        window.opener.close_all()
