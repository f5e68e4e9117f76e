"""A real HTTP server on loopback for fixture feeds and pages.

Routes are registered per test; every request is recorded so tests can assert what the
server saw (conditional GET headers, User-Agent, how often a URL was fetched).
"""

from __future__ import annotations

import gzip
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


@dataclass(kw_only=True)
class Route:
    body: bytes = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "text/html; charset=utf-8"
    etag: str | None = None
    last_modified: str | None = None
    delay_s: float = 0.0
    gzip: bool = False
    # Full control when a fixed answer is not enough: (handler) -> None writes the response.
    handler: Callable[[BaseHTTPRequestHandler], None] | None = None


@dataclass(kw_only=True)
class SeenRequest:
    method: str
    path: str
    headers: dict[str, str]
    status: int


class LoopbackHTTPServer:
    """``server.add("/feed.xml", Route(...))``; ``server.url("/feed.xml")``; ``server.requests``."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[SeenRequest] = []
        self._lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in separate writes; without TCP_NODELAY each response
            # waits ~40 ms for the client's delayed ACK.
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: object) -> None:  # quiet test output
                pass

            def do_HEAD(self) -> None:
                self.do_GET()

            def do_POST(self) -> None:
                self.do_GET()

            def do_GET(self) -> None:
                outer._serve(self)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def host(self) -> str:
        return "127.0.0.1"

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def add(self, path: str, route: Route | None = None, **kwargs: object) -> str:
        self.routes[path] = route if route is not None else Route(**kwargs)  # type: ignore[arg-type]
        return self.url(path)

    def add_file(self, path: str, file: Path, content_type: str, **kwargs: object) -> str:
        return self.add(path, Route(body=file.read_bytes(), content_type=content_type, **kwargs))  # type: ignore[arg-type]

    def seen(self, path: str) -> list[SeenRequest]:
        """Requests for ``path``; without a query string in ``path``, any query string matches."""
        with self._lock:
            if "?" in path:
                return [r for r in self.requests if r.path == path]
            return [r for r in self.requests if r.path.split("?")[0] == path]

    def _record(self, request: BaseHTTPRequestHandler, status: int) -> None:
        with self._lock:
            self.requests.append(
                SeenRequest(
                    method=request.command,
                    path=request.path,
                    headers={k.lower(): v for k, v in request.headers.items()},
                    status=status,
                )
            )

    def _serve(self, request: BaseHTTPRequestHandler) -> None:
        length = int(request.headers.get("Content-Length") or 0)
        if length:
            request.rfile.read(length)
        route = self.routes.get(request.path) or self.routes.get(request.path.split("?")[0])
        if route is None:
            self._record(request, 404)
            self._send(request, 404, b"not found", {"Content-Type": "text/plain"})
            return
        if route.delay_s:
            time.sleep(route.delay_s)
        if route.handler is not None:
            self._record(request, 0)
            route.handler(request)
            return
        headers = {"Content-Type": route.content_type, **route.headers}
        if route.etag:
            headers["ETag"] = route.etag
        if route.last_modified:
            headers["Last-Modified"] = route.last_modified
        not_modified = (route.etag and request.headers.get("If-None-Match") == route.etag) or (
            route.last_modified and request.headers.get("If-Modified-Since") == route.last_modified
        )
        if not_modified and route.status == 200:
            self._record(request, 304)
            self._send(request, 304, b"", headers)
            return
        body = route.body
        if route.gzip:
            body = gzip.compress(body)
            headers["Content-Encoding"] = "gzip"
        self._record(request, route.status)
        self._send(request, route.status, body, headers)

    @staticmethod
    def _send(request: BaseHTTPRequestHandler, status: int, body: bytes, headers: dict[str, str]) -> None:
        request.send_response(status)
        for key, value in headers.items():
            request.send_header(key, value)
        if status != 304:
            request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        if request.command != "HEAD" and status != 304:
            request.wfile.write(body)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
