"""s3:// through moto's S3 server, DANDI identifiers through a fake DANDI API, and the CLI.

Every server runs on 127.0.0.1 in this process; nothing needs the internet.
"""

from __future__ import annotations

import json
import sys

import h5py
import numpy as np
import pytest
from remote_server import RangeServer
from test_remote_http import assert_same_recording, write_recordings

from tracemark.app.cli import main
from tracemark.io_backends import open_recording
from tracemark.io_backends.remote.errors import RemoteNotFoundError

ASSET_ID = "0f9a6e0c-2d3b-4c4e-9d8a-1b2c3d4e5f60"


@pytest.fixture(scope="module")
def recordings(tmp_path_factory):
    return write_recordings(tmp_path_factory.mktemp("served"))


def without_aws_credentials(monkeypatch, folder) -> None:
    """No AWS credentials anywhere botocore looks: not the person's ~/.aws, nor instance metadata."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
                 "AWS_DEFAULT_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION", "TRACEMARK_S3_ANONYMOUS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(folder / "credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(folder / "config"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.delenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", raising=False)
    monkeypatch.delenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", raising=False)


@pytest.fixture
def s3_endpoint(monkeypatch, tmp_path_factory):
    moto_server = pytest.importorskip("moto.server")
    boto3 = pytest.importorskip("boto3")
    without_aws_credentials(monkeypatch, tmp_path_factory.mktemp("aws"))
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    # The test's own client signs with explicit keys: Tracemark itself finds no credentials.
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                          aws_access_key_id="testing", aws_secret_access_key="testing")
    client.create_bucket(Bucket="recordings")
    monkeypatch.setenv("TRACEMARK_S3_ENDPOINT", endpoint)
    yield client
    server.stop()


@pytest.mark.parametrize("name", ["x.nwb", "x.TRC", "x.bdf"])
def test_s3_urls_read_equal_local_reads(s3_endpoint, recordings, name, tmp_path):
    # Public, as DANDI's and the Open Data buckets are: Tracemark's S3 requests are anonymous.
    s3_endpoint.upload_file(str(recordings[name]), "recordings", f"sub-01/{name}",
                            ExtraArgs={"ACL": "public-read"})
    url = f"s3://recordings/sub-01/{name}"
    with open_recording(url, cache_dir=tmp_path) as remote, open_recording(recordings[name]) as local:
        assert str(remote.path) == url
        assert_same_recording(remote, local)


def test_public_s3_objects_need_no_botocore(s3_endpoint, recordings, monkeypatch, tmp_path):
    s3_endpoint.upload_file(str(recordings["x.TRC"]), "recordings", "open/x.TRC",
                            ExtraArgs={"ACL": "public-read"})
    for module in [m for m in sys.modules if m == "botocore" or m.startswith("botocore.")]:
        monkeypatch.setitem(sys.modules, module, None)  # as if not installed: imports fail
    monkeypatch.setitem(sys.modules, "botocore", None)
    with open_recording("s3://recordings/open/x.TRC", cache_dir=tmp_path) as remote, \
            open_recording(recordings["x.TRC"]) as local:
        assert_same_recording(remote, local)


def test_a_missing_s3_key_is_not_found(s3_endpoint, tmp_path):
    with pytest.raises(RemoteNotFoundError) as caught:
        open_recording("s3://recordings/missing.nwb", cache_dir=tmp_path)
    assert "s3://recordings/missing.nwb" in str(caught.value)


def test_a_private_s3_object_is_access_denied_without_credentials(s3_endpoint, recordings, tmp_path):
    from tracemark.io_backends.remote.errors import RemoteAccessDeniedError

    s3_endpoint.upload_file(str(recordings["x.nwb"]), "recordings", "private/x.nwb")
    with pytest.raises(RemoteAccessDeniedError) as caught:
        open_recording("s3://recordings/private/x.nwb", cache_dir=tmp_path)
    assert "403" in str(caught.value)


# -- DANDI ----------------------------------------------------------------------------------
@pytest.fixture
def dandi_api(recordings, monkeypatch):
    """A fake DANDI API: the asset download redirects to the blob, as on dandiarchive.org."""
    with RangeServer({"blobs/abc": recordings["x.nwb"]}) as server:
        api = f"{server.base}/api"
        server.json_routes["/api/dandisets/000027/"] = json.dumps(
            {"identifier": "000027", "most_recent_published_version": {"version": "0.210831.2033"}}).encode()
        server.json_routes["/api/dandisets/000027/versions/0.210831.2033/assets/?path=sub-RAT123%2Fx.nwb"] = \
            json.dumps({"count": 1, "results": [{"asset_id": ASSET_ID, "path": "sub-RAT123/x.nwb",
                                                 "blob": "abc"}]}).encode()
        # An asset URL does not say blob or Zarr; its metadata does (encodingFormat, contentUrl).
        server.json_routes[f"/api/assets/{ASSET_ID}/"] = json.dumps(
            {"identifier": ASSET_ID, "path": "sub-RAT123/x.nwb", "encodingFormat": "application/x-nwb",
             "contentUrl": [f"{api}/assets/{ASSET_ID}/download/", server.url("blobs/abc")]}).encode()
        server.faults.redirects[f"api/assets/{ASSET_ID}/download/"] = server.url("blobs/abc")
        monkeypatch.setenv("TRACEMARK_DANDI_API_URL", api)
        yield server


def test_dandi_identifiers_resolve_through_the_api(dandi_api, recordings, tmp_path):
    url = "dandi://dandi/000027/sub-RAT123/x.nwb"
    with open_recording(url, cache_dir=tmp_path) as remote, open_recording(recordings["x.nwb"]) as local:
        assert str(remote.path) == url
        assert_same_recording(remote, local)


def test_dandi_asset_urls_follow_the_download_redirect(dandi_api, recordings, tmp_path):
    url = f"{dandi_api.base}/api/assets/{ASSET_ID}/"
    with open_recording(url, cache_dir=tmp_path) as remote, open_recording(recordings["x.nwb"]) as local:
        assert_same_recording(remote, local)


def test_an_unknown_dandi_path_is_not_found(dandi_api, tmp_path):
    with pytest.raises(RemoteNotFoundError) as caught:
        open_recording("dandi://dandi/000027@0.210831.2033/sub-RAT123/other.nwb", cache_dir=tmp_path)
    assert "other.nwb" in str(caught.value)


# -- command line and the trace cache -------------------------------------------------------
def test_tracemark_info_describes_a_url(recordings, capsys):
    with RangeServer(recordings) as server:
        assert main(["info", server.url("x.nwb"), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert server.url("x.nwb") in json.dumps(summary)


def test_tracemark_info_of_a_missing_url_is_one_line_on_stderr(recordings, capsys):
    with RangeServer(recordings) as server:
        assert main(["info", server.url("gone.edf")]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "404" in err and server.url("gone.edf") in err


def test_a_cache_built_from_a_url_records_the_url_and_streams_it_again(recordings, tmp_path, capsys):
    from tracemark.io_backends.cache import CacheFile

    out = tmp_path / "traces.h5"
    with RangeServer(recordings) as server:
        url = server.url("x.TRC")
        code = main(["cache", "build", url, "-o", str(out), "--events", "*", "--pre", "100ms",
                     "--post", "200ms", "--no-progress"])
        assert code == 0, capsys.readouterr().err
        with h5py.File(out, "r") as f:
            origin = next(iter(f.values()))
            assert origin.attrs["source_file"] == url
        with CacheFile(out, mode="r") as cache, open_recording(cache_source(out)) as remote, \
                open_recording(recordings["x.TRC"]) as local:
            assert len(cache) == len(local.events())
            np.testing.assert_array_equal(remote.read_samples(0, 100), local.read_samples(0, 100))


def cache_source(path) -> str:
    with h5py.File(path, "r") as f:
        return str(next(iter(f.values())).attrs["source_file"])
