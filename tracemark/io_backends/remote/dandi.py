"""Turn DANDI identifiers and asset URLs into the address an asset's content is read from.

Accepted forms (``<api>`` is the DANDI API base: ``https://api.dandiarchive.org/api``, or
the ``TRACEMARK_DANDI_API_URL`` environment variable, so tests and other DANDI instances
can point it elsewhere):

* ``dandi://<instance>/<dandiset>[@<version>]/<path in the dandiset>``, as dandi-cli
  writes them (``dandi://dandi/000027@draft/sub-RAT123/sub-RAT123.nwb``). Without a
  version, the most recent published version is used, else the draft.
* ``<api>/assets/<asset id>/`` and ``<api>/assets/<asset id>/download/``, and the same
  under ``<api>/dandisets/<dandiset>/versions/<version>/assets/<asset id>/``.

An asset is one of two things (the API's asset records carry a ``blob`` or a ``zarr`` id).
A blob is one file: its address is ``<api>/assets/<asset id>/download/``, which redirects to
the blob on S3, and the range reader follows the redirect once. A Zarr asset
(``x.nwb.zarr``) is a folder of objects on S3 that has no single download: its address is
the folder, the ``contentUrl`` of the asset's metadata (``GET <api>/assets/<asset id>/``)
that is not an API address (``https://dandiarchive.s3.amazonaws.com/zarr/<zarr id>/``), and
it is read by :mod:`.nwb_zarr`. An asset URL does not say which it is, so its metadata is
fetched; an identifier's listing entry says so, and only a Zarr asset's metadata is fetched.

Lookups are plain HTTPS GETs of the API's JSON with a timeout; failures become typed errors
naming the identifier.
"""

from __future__ import annotations

import json
import os
import re
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from .errors import RemoteNotFoundError, RemoteRecordingError, RemoteUnreachableError
from .locations import RemotePath

DEFAULT_API_URL = "https://api.dandiarchive.org/api"
API_URL_VARIABLE = "TRACEMARK_DANDI_API_URL"
#: The ``encodingFormat`` of a Zarr asset in the DANDI asset metadata schema.
ZARR_ENCODING = "application/x-zarr"
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


@dataclass(frozen=True)
class DandiAsset:
    """Where a DANDI asset's content is read from."""

    #: The blob's download address, or the Zarr store's folder (ending in ``/``).
    address: str
    #: True for a Zarr asset (a folder read by :mod:`.nwb_zarr`), False for a blob (one file).
    is_zarr: bool


def resolve_asset(url: str, timeout: float = 10.0) -> DandiAsset:
    """The asset named by ``url`` and where its content is; typed errors naming ``url``."""
    api, where = api_url(), RemotePath(url)
    match = _ASSET_PATH.search(urlsplit(url).path)
    if not url.lower().startswith("dandi://") and match:
        return _asset_from_metadata(where, api, match["asset"], timeout)
    entry = _listing_entry(where, api, url, timeout)
    if entry.get("zarr"):
        return _asset_from_metadata(where, api, entry["asset_id"], timeout)
    return DandiAsset(f"{api}/assets/{entry['asset_id']}/download/", is_zarr=False)


def download_url(url: str, timeout: float = 10.0) -> str:
    """The address to read the asset named by ``url`` from (a Zarr asset: its folder)."""
    return resolve_asset(url, timeout).address


def _listing_entry(where: RemotePath, api: str, url: str, timeout: float) -> dict[str, Any]:
    identifier = _IDENTIFIER.match(url)
    if identifier is None:
        raise RemoteRecordingError(where, "is not a DANDI identifier; write it as "
                                   "dandi://dandi/<dandiset>[@<version>]/<path of the file>")
    dandiset, path = identifier["dandiset"], identifier["path"].rstrip("/")
    version = identifier["version"] or _default_version(where, api, dandiset, timeout)
    query = urlencode({"path": path})
    listing = _get_json(where, f"{api}/dandisets/{dandiset}/versions/{quote(version)}/assets/?{query}",
                        timeout)
    # ``?path=`` may match more than one path (``x.nwb`` and ``x.nwb.zarr``): keep the exact one.
    for asset in listing.get("results", []):
        if asset.get("path") == path:
            entry: dict[str, Any] = asset
            return entry
    raise RemoteNotFoundError(where, f"dandiset {dandiset} version {version} has no file {path!r}")


def _asset_from_metadata(where: RemotePath, api: str, asset_id: str, timeout: float) -> DandiAsset:
    metadata = _get_json(where, f"{api}/assets/{asset_id}/", timeout)
    is_zarr = metadata.get("encodingFormat") == ZARR_ENCODING or \
        str(metadata.get("path", "")).rstrip("/").lower().endswith(".zarr")
    if not is_zarr:
        return DandiAsset(f"{api}/assets/{asset_id}/download/", is_zarr=False)
    # The API's own addresses (download/, zarr/<id>/) serve no store objects; S3 does.
    store = next((u for u in metadata.get("contentUrl", [])
                  if isinstance(u, str) and not u.startswith(api + "/")), None)
    if store is None:
        raise RemoteRecordingError(where, f"the DANDI API lists no storage address for Zarr "
                                          f"asset {asset_id} (its contentUrl has none)")
    return DandiAsset(store if store.endswith("/") else store + "/", is_zarr=True)


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
