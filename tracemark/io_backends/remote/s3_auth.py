"""Private S3 objects: find the person's AWS credentials and sign each range request with them.

``s3://bucket/key`` is read with the credentials the AWS tools would use, found by botocore's
standard chain: ``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY`` / ``AWS_SESSION_TOKEN``,
``AWS_PROFILE`` with ``~/.aws/credentials`` and ``~/.aws/config`` (SSO and assumed roles
included), then container and instance roles. The region is ``AWS_REGION``, else the
profile's or ``AWS_DEFAULT_REGION``, else ``us-east-1``; when S3 answers that the bucket lives
in another region (``x-amz-bucket-region`` on a 301 or 400), the first request is signed again
for that region, once.

When no credentials are found, or ``TRACEMARK_S3_ANONYMOUS=1`` (or ``anonymous=True``) is
set, or botocore is not installed, requests are anonymous, as public buckets (DANDI, the AWS
Open Data registry) expect. botocore is imported only here, when an ``s3://`` URL is opened,
never when Tracemark starts.

Why every request is signed (SigV4 in the ``Authorization`` header, botocore's
``S3SigV4Auth``) rather than presigned GET URLs: a recording stays open for hours, and
presigned URLs expire (at most 7 days, and no later than the session token they were made
with), so they would need a re-signing schedule racing against reads in flight; a signature
per request is made when the request is sent, from credentials botocore refreshes itself
(SSO, roles), costs tens of microseconds beside a network round trip, and puts no secret in
a URL that could reach a log, an error message or a cache key. The ``Range`` and ``If-Match``
headers and the host are signed as sent, so the server checks exactly what it receives.

Errors name the ``s3://`` URL and which credentials were used (the profile, or "the
environment", and the last four characters of the access key id), never the secret.
"""

from __future__ import annotations

import os
import re
import threading
from typing import Any

from ..errors import MissingDependencyError, RecordingError
from .errors import RemoteAccessDeniedError, RemoteCredentialsError
from .locations import RemotePath

#: Set to 1 to send anonymous requests even when AWS credentials are configured.
ANONYMOUS_VARIABLE = "TRACEMARK_S3_ANONYMOUS"
DEFAULT_REGION = "us-east-1"
#: S3 error codes meaning the credentials themselves were not accepted.
_REJECTED_CODES = {
    "InvalidAccessKeyId": "the access key id is unknown to the server",
    "SignatureDoesNotMatch": "the secret key does not match the access key id",
    "ExpiredToken": "the session token has expired; sign in again (aws sso login)",
    "InvalidToken": "the session token is not valid",
    "TokenRefreshRequired": "the session token has expired; sign in again",
    "AccessDenied": "these credentials do not grant access to this object",
}
_CODE = re.compile(rb"<Code>\s*([A-Za-z]+)\s*</Code>")


class S3RequestSigner:
    """Signs each request to one S3 object with the person's AWS credentials (SigV4)."""

    def __init__(self, url: str, credentials: Any, region: str, described: str):
        self.path = RemotePath(url)
        self.region = region
        #: Which credentials these are, for error messages ("profile 'lab' (sso), key …ABCD").
        self.described = described
        self._credentials = credentials
        self._region_followed = False
        self._lock = threading.Lock()

    def sign(self, address: str, headers: dict[str, str]) -> dict[str, str]:
        """``headers`` plus ``Authorization``, ``X-Amz-Date`` and the payload hash for a GET of ``address``."""
        from botocore.auth import S3SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.exceptions import BotoCoreError

        try:
            # Frozen per request: refreshable credentials (SSO, roles) renew themselves here.
            frozen = self._credentials.get_frozen_credentials()
        except BotoCoreError as exc:
            raise RemoteCredentialsError(self.path, f"{self.described} could not be renewed: {exc}; "
                                                    "sign in again (aws sso login) and reopen") from None
        request = AWSRequest(method="GET", url=address, headers=dict(headers))
        S3SigV4Auth(frozen, "s3", self.region).add_auth(request)
        return dict(request.headers.items())

    def retry_in_region(self, status: int, bucket_region: str | None) -> bool:
        """Whether to send the first request again, signed for the region S3 says the bucket is in."""
        with self._lock:
            if (status not in (301, 400) or not bucket_region or bucket_region == self.region
                    or self._region_followed):
                return False
            self.region, self._region_followed = bucket_region, True
            return True

    def refusal(self, body: bytes) -> str:
        """Why a 401/403 answer refused these credentials, in words, from S3's error code."""
        match = _CODE.search(body or b"")
        code = match.group(1).decode() if match else ""
        why = _REJECTED_CODES.get(code, "access is refused")
        return (f"{code + ': ' if code else ''}{why}; the request was signed with {self.described} "
                f"(set {ANONYMOUS_VARIABLE}=1 to try without credentials)")


def signer_for(url: str, *, anonymous: bool = False) -> S3RequestSigner | None:
    """A signer for ``url`` when it is ``s3://`` and AWS credentials are found, else ``None`` (anonymous).

    Raises :class:`RemoteCredentialsError` when credentials are configured but cannot be
    loaded (an unknown ``AWS_PROFILE``, an expired SSO sign-in)."""
    if not url.lower().startswith("s3://") or anonymous or _forced_anonymous():
        return None
    try:
        import botocore.session
        from botocore.exceptions import BotoCoreError
    except ImportError:
        return None
    session = botocore.session.Session()
    try:
        credentials = session.get_credentials()
        if credentials is None:
            return None
        access_key = credentials.get_frozen_credentials().access_key
    except BotoCoreError as exc:
        raise RemoteCredentialsError(RemotePath(url), f"the AWS credentials ({_source(session, None)}) "
                                                      f"could not be loaded: {exc}; fix them, or set "
                                                      f"{ANONYMOUS_VARIABLE}=1 for a public bucket") from None
    if not access_key:
        return None
    described = f"{_source(session, credentials)}, access key …{access_key[-4:]}"
    return S3RequestSigner(url, credentials, _region(session), described)


def refused(url: str, signer: S3RequestSigner | None, error: RemoteAccessDeniedError) -> RecordingError:
    """The error to report when S3 refused the first request to ``url``.

    An anonymous refusal while botocore is missing most likely means a private object that
    Tracemark could have signed for: say what to install."""
    if (not url.lower().startswith("s3://") or signer is not None or _forced_anonymous()
            or _botocore_installed()):
        return error
    return MissingDependencyError(RemotePath(url), f"{error.problem}; reading a private S3 object with "
                                                   "your AWS credentials needs botocore (pip install "
                                                   "botocore, or pip install \"tracemark[remote]\")")


def _forced_anonymous() -> bool:
    return os.environ.get(ANONYMOUS_VARIABLE, "").strip().lower() in ("1", "true", "yes", "on")


def _botocore_installed() -> bool:
    try:
        import botocore  # noqa: F401
    except ImportError:
        return False
    return True


def _region(session: Any) -> str:
    region = os.environ.get("AWS_REGION") or session.get_config_variable("region")
    return str(region) if region else DEFAULT_REGION


def _source(session: Any, credentials: Any) -> str:
    """Where the credentials came from, for a person: a profile, the environment, a role."""
    method = getattr(credentials, "method", "") or ""
    if method == "env":
        return "the credentials in the environment (AWS_ACCESS_KEY_ID)"
    if method in ("iam-role", "container-role"):
        return f"the {'instance' if method == 'iam-role' else 'container'}'s role credentials"
    profile = session.profile or "default"
    return f"the credentials of AWS profile {profile!r}{f' ({method})' if method else ''}"
