"""A local HTTP file server for the remote-recording tests and benchmark, with faults on demand.

It serves files (by name) with ``Range`` support (single ranges), a strong ``ETag`` and
``If-Match``, over HTTP/1.1 keep-alive, one thread per connection. Faults are switched on per
server: ``latency_s`` before each answer (an added round trip), ``ignore_range`` (answer 200
with the whole body), ``truncate_to`` (send fewer body bytes than promised, then hang up),
``status_for`` (answer a fixed status for a name), ``stall`` (never answer), and ``etags``
(override a file's ETag, as when it changes on the server). It counts requests and bytes
sent. Test code only.
"""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Self
from urllib.parse import unquote, urlsplit


@dataclass
class Faults:
    latency_s: float = 0.0
    ignore_range: bool = False
    truncate_to: int | None = None
    status_for: dict[str, int] = field(default_factory=dict)
    stall: bool = False
    no_etag: bool = False
    etags: dict[str, str] = field(default_factory=dict)
    redirects: dict[str, str] = field(default_factory=dict)


class RangeServer:
    """``with RangeServer({"x.nwb": path}) as server: server.url("x.nwb")``."""

    def __init__(self, files: dict[str, Path | bytes] | None = None):
        self.files: dict[str, Path | bytes] = dict(files or {})
        self.faults = Faults()
        self.requests = 0
        self.bytes_sent = 0
        self.active = 0
        #: The most requests served at once (a client fetching in parallel raises it above 1).
        self.max_active = 0
        self.json_routes: dict[str, bytes] = {}
        #: The Range header of every request, in order ("" for none).
        self.ranges: list[str] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._httpd = _QuietServer(("127.0.0.1", 0), _handler_for(self))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def url(self, name: str) -> str:
        return f"{self.base}/{name}"

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._httpd.shutdown()
        self._httpd.server_close()

    def size(self, name: str) -> int | None:
        item = self.files.get(name)
        if item is None:
            return None
        return len(item) if isinstance(item, bytes) else Path(item).stat().st_size

    def read(self, name: str, first: int, stop: int) -> bytes:
        """Bytes ``[first, stop)`` of a served file, read from disk as a static server does
        (reading the whole file per request would make this server, not the client, the
        bottleneck of the benchmark)."""
        item = self.files[name]
        if isinstance(item, bytes):
            return item[first:stop]
        with open(item, "rb") as handle:
            handle.seek(first)
            return handle.read(max(stop - first, 0))

    def etag(self, name: str, size: int) -> str:
        head = self.read(name, 0, 1 << 16)
        return self.faults.etags.get(name) or f'"{hashlib.sha1(head).hexdigest()}-{size}"'

    def count(self, n_bytes: int) -> None:
        with self._lock:
            self.bytes_sent += n_bytes


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address) -> None:
        pass  # clients hanging up mid-body (cancelled reads, fault tests) are expected here


def _handler_for(server: RangeServer):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:  # keep test output quiet
            pass

        def do_GET(self) -> None:
            with server._lock:
                server.requests += 1
                server.ranges.append(self.headers.get("Range") or "")
                server.active += 1
                server.max_active = max(server.max_active, server.active)
            try:
                self._answer()
            finally:
                with server._lock:
                    server.active -= 1

        def _answer(self) -> None:
            faults = server.faults
            if faults.stall:
                server._stop.wait(60)
                return
            if faults.latency_s:
                time.sleep(faults.latency_s)
            path = unquote(urlsplit(self.path).path)
            if path in server.json_routes or self.path in server.json_routes:
                return self._send(200, server.json_routes.get(self.path, server.json_routes.get(path)),
                                  {"Content-Type": "application/json"})
            name = path.lstrip("/")
            if name in faults.redirects:
                return self._send(302, b"", {"Location": faults.redirects[name]})
            if name in faults.status_for:
                return self._send(faults.status_for[name], b"nope")
            size = server.size(name)
            if size is None:
                return self._send(404, b"not found")
            etag = server.etag(name, size)
            headers = {} if faults.no_etag else {"ETag": etag}
            if_match = self.headers.get("If-Match")
            if if_match and not faults.no_etag and if_match != etag:
                return self._send(412, b"precondition failed")
            wanted = self.headers.get("Range")
            if not wanted or faults.ignore_range:
                return self._send(200, server.read(name, 0, size), headers)
            first, last = _parse_range(wanted, size)
            if first >= size:
                return self._send(416, b"", {"Content-Range": f"bytes */{size}", **headers})
            headers["Content-Range"] = f"bytes {first}-{last}/{size}"
            self._send(206, server.read(name, first, last + 1), headers)

        def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            truncate = server.faults.truncate_to
            sent = body if truncate is None else body[:truncate]
            # Counted before writing: a client that has read the body must find it counted.
            server.count(len(sent))
            self.wfile.write(sent)
            if truncate is not None and len(sent) < len(body):
                self.close_connection = True

    return Handler


def _parse_range(value: str, size: int) -> tuple[int, int]:
    span = value.split("=", 1)[1].split(",")[0]
    first, _, last = span.partition("-")
    if not first:  # a suffix range: the last N bytes
        return max(size - int(last), 0), size - 1
    return int(first), min(int(last) if last else size - 1, size - 1)


def main() -> None:
    """``python tests/remote_server.py --latency 0.02 FILE...``: serve FILEs by name until
    stdin closes, printing the base URL first (benchmarks run the server in its own process
    so that its work does not compete with the client's for one interpreter)."""
    import argparse
    import sys

    parser = argparse.ArgumentParser()
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("files", nargs="+", type=Path)
    args = parser.parse_args()
    with RangeServer({p.name: p for p in args.files}) as server:
        server.faults.latency_s = args.latency
        print(server.base, flush=True)
        sys.stdin.read()


if __name__ == "__main__":
    main()
