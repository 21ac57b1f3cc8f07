"""Private s3:// objects: requests signed with the person's AWS credentials.

moto's S3 server runs in this process with IAM authentication switched on
(``enable_iam_authentication``), so it recomputes every request's SigV4 signature from the
headers it received and refuses unsigned, unknown-key and wrong-secret requests, as S3 does.
moto in that mode cannot serve anonymous reads of public objects (it fails with a 500), so the
anonymous public path is tested in ``test_remote_services.py`` with authentication off. The
bucket-region redirect, which moto does not answer, is tested against a small local server.
"""

from __future__ import annotations

import http.server
import json
import re
import sys
import threading
import urllib.request

import pytest
from test_remote_http import assert_same_recording, write_recordings
from test_remote_services import without_aws_credentials

from tracemark.io_backends import open_recording
from tracemark.io_backends.errors import MissingDependencyError
from tracemark.io_backends.remote.errors import RemoteAccessDeniedError, RemoteCredentialsError

BUCKET = "private-recordings"
URL = f"s3://{BUCKET}/sub-01/x.nwb"


@pytest.fixture(scope="module")
def recordings(tmp_path_factory):
    return write_recordings(tmp_path_factory.mktemp("served"))


@pytest.fixture
def aws_folder(monkeypatch, tmp_path_factory):
    folder = tmp_path_factory.mktemp("aws")
    without_aws_credentials(monkeypatch, folder)
    return folder


@pytest.fixture
def private_s3(aws_folder, recordings, monkeypatch):
    """moto's S3 with the private object at ``URL`` and an IAM user allowed to read it."""
    moto_server = pytest.importorskip("moto.server")
    boto3 = pytest.importorskip("boto3")
    from moto.core.authorization import enable_iam_authentication

    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    setup = {"endpoint_url": endpoint, "region_name": "us-east-1",
             "aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
    s3, iam = boto3.client("s3", **setup), boto3.client("iam", **setup)
    s3.create_bucket(Bucket=BUCKET)
    for name in ("x.nwb", "x.TRC"):
        s3.upload_file(str(recordings[name]), BUCKET, f"sub-01/{name}")
    iam.create_user(UserName="reader")
    key = iam.create_access_key(UserName="reader")["AccessKey"]
    iam.put_user_policy(UserName="reader", PolicyName="read", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{BUCKET}/*"}]}))
    monkeypatch.setenv("TRACEMARK_S3_ENDPOINT", endpoint)
    try:
        with enable_iam_authentication():
            yield key["AccessKeyId"], key["SecretAccessKey"]
    finally:
        # moto's accounts live in this process, not in the server: forget the user and bucket.
        urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST"), timeout=10)
        server.stop()


def use_environment_keys(monkeypatch, key_id: str, secret: str) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key_id)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)


def use_profile(monkeypatch, aws_folder, profile: str, key_id: str, secret: str) -> None:
    (aws_folder / "credentials").write_text(
        f"[{profile}]\naws_access_key_id = {key_id}\naws_secret_access_key = {secret}\n")
    monkeypatch.setenv("AWS_PROFILE", profile)


@pytest.mark.parametrize("name", ["x.nwb", "x.TRC"])
def test_a_private_object_read_with_environment_credentials_equals_the_local_read(
        private_s3, recordings, monkeypatch, name, tmp_path):
    use_environment_keys(monkeypatch, *private_s3)
    url = f"s3://{BUCKET}/sub-01/{name}"
    with open_recording(url, cache_dir=tmp_path) as remote, open_recording(recordings[name]) as local:
        assert str(remote.path) == url
        assert_same_recording(remote, local)


def test_a_private_object_reads_with_a_profile_of_the_credentials_file(
        private_s3, recordings, aws_folder, monkeypatch, tmp_path):
    use_profile(monkeypatch, aws_folder, "lab", *private_s3)
    with open_recording(URL, cache_dir=tmp_path) as remote, open_recording(recordings["x.nwb"]) as local:
        assert_same_recording(remote, local)


def test_the_block_cache_is_keyed_by_the_s3_url(private_s3, monkeypatch, tmp_path):
    import hashlib

    use_environment_keys(monkeypatch, *private_s3)
    with open_recording(URL, cache_dir=tmp_path) as remote:
        remote.read_samples(0, 100)
    folders = [p.name for p in tmp_path.iterdir() if p.is_dir()]
    assert folders == [hashlib.sha256(URL.encode()).hexdigest()[:32]]


def test_a_wrong_secret_is_a_credentials_error_naming_the_url_and_not_the_secret(
        private_s3, monkeypatch, tmp_path):
    key_id, _ = private_s3
    use_environment_keys(monkeypatch, key_id, "not-the-secret-0123456789")
    with pytest.raises(RemoteCredentialsError) as caught:
        open_recording(URL, cache_dir=tmp_path)
    message = str(caught.value)
    assert URL in message and "SignatureDoesNotMatch" in message and "environment" in message
    assert "not-the-secret" not in message and key_id[-4:] in message


def test_an_unknown_key_of_a_profile_is_a_credentials_error_naming_the_profile(
        private_s3, aws_folder, monkeypatch, tmp_path):
    use_profile(monkeypatch, aws_folder, "old-lab", "AKIAUNKNOWN000000000", "stale-secret-value")
    with pytest.raises(RemoteCredentialsError) as caught:
        open_recording(URL, cache_dir=tmp_path)
    message = str(caught.value)
    assert URL in message and "InvalidAccessKeyId" in message and "'old-lab'" in message
    assert "stale-secret-value" not in message


def test_an_unknown_profile_is_a_credentials_error(aws_folder, monkeypatch, tmp_path):
    pytest.importorskip("botocore")
    monkeypatch.setenv("AWS_PROFILE", "nowhere")
    with pytest.raises(RemoteCredentialsError) as caught:
        open_recording(URL, cache_dir=tmp_path)
    assert URL in str(caught.value) and "nowhere" in str(caught.value)


@pytest.mark.parametrize("how", ["environment", "keyword"])
def test_anonymous_can_be_forced_even_with_credentials(private_s3, monkeypatch, how, tmp_path):
    use_environment_keys(monkeypatch, *private_s3)
    options = {"anonymous": True} if how == "keyword" else {}
    if how == "environment":
        monkeypatch.setenv("TRACEMARK_S3_ANONYMOUS", "1")
    with pytest.raises(RemoteAccessDeniedError) as caught:
        open_recording(URL, cache_dir=tmp_path, **options)
    # Refused as an anonymous request, not as these credentials.
    assert not isinstance(caught.value, RemoteCredentialsError)


def test_without_botocore_a_private_object_asks_for_it(private_s3, monkeypatch, tmp_path):
    use_environment_keys(monkeypatch, *private_s3)
    for module in [m for m in sys.modules if m == "botocore" or m.startswith("botocore.")]:
        monkeypatch.setitem(sys.modules, module, None)
    monkeypatch.setitem(sys.modules, "botocore", None)
    with pytest.raises(MissingDependencyError) as caught:
        open_recording(URL, cache_dir=tmp_path)
    assert "pip install botocore" in str(caught.value) and URL in str(caught.value)


# -- the bucket's region --------------------------------------------------------------------
class _RegionalBucket(http.server.BaseHTTPRequestHandler):
    """Serves one object only to requests signed for eu-west-1; others learn the region, as from S3."""

    body = bytes(range(256)) * 64
    scopes: list[str] = []
    signed_headers: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        authorization = self.headers.get("Authorization", "")
        scope = re.search(r"Credential=[^/]+/\d+/([^/]+)/s3/aws4_request", authorization)
        signed = re.search(r"SignedHeaders=([^,]+)", authorization)
        self.scopes.append(scope.group(1) if scope else "")
        self.signed_headers.append(signed.group(1) if signed else "")
        if not scope:
            self._answer(403, b"<Error><Code>AccessDenied</Code></Error>")
        elif scope.group(1) != "eu-west-1":
            self._answer(400, b"<Error><Code>AuthorizationHeaderMalformed</Code></Error>",
                         {"x-amz-bucket-region": "eu-west-1"})
        else:
            first, last = map(int, self.headers["Range"].removeprefix("bytes=").split("-"))
            last = min(last, len(self.body) - 1)
            self._answer(206, self.body[first:last + 1], {
                "Content-Range": f"bytes {first}-{last}/{len(self.body)}", "ETag": '"v1"'})

    def _answer(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in {**(headers or {}), "Content-Length": str(len(body))}.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_a_bucket_in_another_region_is_signed_again_for_its_region(aws_folder, monkeypatch, tmp_path):
    pytest.importorskip("botocore")
    from tracemark.io_backends.remote.opening import open_source

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _RegionalBucket)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _RegionalBucket.scopes, _RegionalBucket.signed_headers = [], []
    try:
        monkeypatch.setenv("TRACEMARK_S3_ENDPOINT", f"http://127.0.0.1:{server.server_port}")
        use_environment_keys(monkeypatch, "AKIAREGIONTEST000000", "region-secret")
        source = open_source("s3://far-bucket/data.bin", cache_dir=tmp_path, block_size=4096)
        try:
            assert source.read_bytes(5000, 100) == _RegionalBucket.body[5000:5100]
        finally:
            source.close()
    finally:
        server.shutdown()
        server.server_close()
    assert _RegionalBucket.scopes[:2] == ["us-east-1", "eu-west-1"]
    assert set(_RegionalBucket.scopes[2:]) == {"eu-west-1"}
    # What the server checks is what it received: the range and the host are signed.
    assert all({"host", "range"} <= set(signed.split(";")) for signed in _RegionalBucket.signed_headers)


def test_credentials_that_can_no_longer_be_renewed_are_a_credentials_error():
    pytest.importorskip("botocore")
    from botocore.exceptions import TokenRetrievalError

    from tracemark.io_backends.remote.s3_auth import S3RequestSigner

    class ExpiredSignIn:
        def get_frozen_credentials(self):
            raise TokenRetrievalError(provider="sso", error_msg="the SSO session has expired")

    signer = S3RequestSigner(URL, ExpiredSignIn(), "us-east-1", "the credentials of AWS profile 'lab' (sso)")
    with pytest.raises(RemoteCredentialsError) as caught:
        signer.sign("https://private-recordings.s3.amazonaws.com/sub-01/x.nwb", {"Range": "bytes=0-9"})
    assert URL in str(caught.value) and "'lab'" in str(caught.value) and "expired" in str(caught.value)
