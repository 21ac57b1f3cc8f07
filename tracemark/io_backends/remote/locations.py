"""Where a remote recording is named, and where its bytes are fetched from.

A :class:`RemotePath` is the ``header.path`` of a remote recording: a ``pathlib`` path whose
``name`` is the file's name (window titles, cache origin names) and whose ``str()`` is the
URL the person gave, so errors, recent lists and a cache's ``source_file`` name the URL and
opening ``str(path)`` again streams the same recording.

``s3://bucket/key`` becomes an HTTPS address: virtual-hosted on AWS, or path-style under the
endpoint in ``TRACEMARK_S3_ENDPOINT`` / ``AWS_ENDPOINT_URL_S3`` / ``AWS_ENDPOINT_URL`` (a
local MinIO or moto server). Requests to it are signed with the person's AWS credentials when
any are found, which private buckets need (:mod:`.s3_auth`), and anonymous otherwise, as
public buckets (DANDI, OpenNeuro, the AWS Open Data registry) expect.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

#: Environment variables naming an S3-compatible endpoint, first found wins.
S3_ENDPOINT_VARIABLES = ("TRACEMARK_S3_ENDPOINT", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL")


class RemotePath(type(Path())):  # type: ignore[misc]
    """A path standing for a URL: ``name`` is the file name, ``str()`` the URL.

    Paths derived from it (``parent``, ``with_suffix``) are ordinary paths of the URL's
    path part; only the path itself carries the URL.
    """

    def __new__(cls, url: str) -> RemotePath:
        self: RemotePath = super().__new__(cls, unquote(urlsplit(url).path) or "/")
        self._url = url
        return self

    @property
    def url(self) -> str:
        url: str = getattr(self, "_url", super().__str__())
        return url

    def __str__(self) -> str:
        return self.url

    def __fspath__(self) -> str:
        return self.url

    def __repr__(self) -> str:
        return f"RemotePath({self.url!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RemotePath) and other.url == self.url

    def __hash__(self) -> int:
        return hash(("RemotePath", self.url))

    def __reduce__(self) -> tuple[type[RemotePath], tuple[str]]:
        return (RemotePath, (self.url,))

    def exists(self, *args: object, **kwargs: object) -> bool:
        return False

    def is_file(self) -> bool:
        return False

    def is_dir(self) -> bool:
        return False

    def absolute(self) -> RemotePath:
        return self

    def expanduser(self) -> RemotePath:
        return self

    def resolve(self, strict: bool = False) -> RemotePath:
        return self


def s3_http_url(url: str) -> str:
    """The HTTPS (or endpoint) address of ``s3://bucket/key``."""
    parts = urlsplit(url)
    bucket, key = parts.netloc, parts.path.lstrip("/")
    if not bucket or not key:
        raise ValueError(f"{url}: an S3 URL names a bucket and a key: s3://bucket/path/to/file")
    endpoint = next((os.environ[v] for v in S3_ENDPOINT_VARIABLES if os.environ.get(v)), "")
    quoted_key = quote(key, safe="/~")
    if endpoint:
        return f"{endpoint.rstrip('/')}/{bucket}/{quoted_key}"
    return f"https://{bucket}.s3.amazonaws.com/{quoted_key}"


def file_suffix(url: str) -> str:
    """The suffix of the URL's last path segment, lower case (``".nwb"``), or ``""``."""
    return Path(unquote(urlsplit(url).path)).suffix.lower()
