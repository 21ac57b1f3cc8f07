"""Turn DANDI identifiers and asset URLs into the address an asset's bytes are downloaded from.

Accepted forms (``<api>`` is the DANDI API base: ``https://api.dandiarchive.org/api``, or
the ``TRACEMARK_DANDI_API_URL`` environment variable, so tests and other DANDI instances
can point it elsewhere):

* ``dandi://<instance>/<dandiset>[@<version>]/<path in the dandiset>``, as dandi-cli
  writes them (``dandi://dandi/000027@draft/sub-RAT123/sub-RAT123.nwb``). Without a
  version, the most recent published version is used, else the draft.
* ``<api>/assets/<asset id>/`` and ``<api>/assets/<asset id>/download/``, and the same
  under ``<api>/dandisets/<dandiset>/versions/<version>/assets/<asset id>/``.

The answer is ``<api>/assets/<asset id>/download/``, which redirects to the blob on S3; the
range reader follows the redirect once. Lookups are plain HTTPS GETs of the API's JSON
with a timeout; failures become typed errors naming the identifier.
"""

from __future__ import annotations

import json
import os
import re
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from .errors import RemoteNotFoundError, RemoteRecordingError, RemoteUnreachableError
from .locations import RemotePath

DEFAULT_API_URL = "https://api.dandiarchive.org/api"
API_URL_VARIABLE = "TRACEMARK_DANDI_API_URL"
_ASSET_PATH = re.compile(r"/assets/(?P<asset>[0-9a-fA-F-]{36})/?(download/?)?$")
_IDENTIFIER = re.compile(r"^dandi://(?P<instance>[^/]+)/(?P<dandiset>\d{6})(@(?P<version>[^/]+))?/(?P<path>.+)$",
                         re.IGNORECASE)


def api_url() -> str:
    return os.environ.get(API_URL_VARIABLE, DEFAULT_API_URL).rstrip("/")


def is_dandi(url: str) -> bool:
    """True for ``dandi://`` identifiers and asset URLs under the configured API."""
    if url.lower().startswith("dandi://"):
        return True
    return url.startswith(api_url() + "/") and _ASSET_PATH.search(urlsplit(url).path) is not None


def download_url(url: str, timeout: float = 10.0) -> str:
    """The address to stream the asset named by ``url`` from; typed errors naming ``url``."""
    api = api_url()
    match = _ASSET_PATH.search(urlsplit(url).path)
    if not url.lower().startswith("dandi://") and match:
        return f"{api}/assets/{match['asset']}/download/"
    identifier = _IDENTIFIER.match(url)
    if identifier is None:
        raise RemoteRecordingError(RemotePath(url), "is not a DANDI identifier; write it as "
                                   "dandi://dandi/<dandiset>[@<version>]/<path of the file>")
    where = RemotePath(url)
    dandiset, path = identifier["dandiset"], identifier["path"]
    version = identifier["version"] or _default_version(where, api, dandiset, timeout)
    query = urlencode({"path": path})
    listing = _get_json(where, f"{api}/dandisets/{dandiset}/versions/{quote(version)}/assets/?{query}",
                        timeout)
    for asset in listing.get("results", []):
        if asset.get("path") == path:
            return f"{api}/assets/{asset['asset_id']}/download/"
    raise RemoteNotFoundError(where, f"dandiset {dandiset} version {version} has no file {path!r}")


def _default_version(where: RemotePath, api: str, dandiset: str, timeout: float) -> str:
    info = _get_json(where, f"{api}/dandisets/{dandiset}/", timeout)
    published = info.get("most_recent_published_version") or {}
    return published.get("version") or "draft"


def _get_json(where: RemotePath, address: str, timeout: float) -> dict[str, Any]:
    request = urllib.request.Request(address, headers={"Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            answer: dict[str, Any] = json.loads(response.read())
            return answer
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            raise RemoteNotFoundError(where, f"the DANDI API knows no such dandiset, version or "
                                             f"asset ({address} answered 404)") from exc
        raise RemoteRecordingError(where, f"the DANDI API answered {exc.code} {exc.reason} "
                                          f"for {address}") from exc
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise RemoteUnreachableError(where, f"the DANDI API at {api_url()} cannot be reached "
                                            f"({reason})") from exc
    except ValueError as exc:
        raise RemoteRecordingError(where, f"the DANDI API sent something that is not JSON "
                                          f"for {address}") from exc
