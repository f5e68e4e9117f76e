"""The benchmark's web server: feeds and pages from memory on 127.0.0.1, in a process of its own.

It answers like a well-behaved news site: HTTP/1.1 keep-alive, a strong ETag per document and
``304 Not Modified`` for a matching ``If-None-Match``. Running in its own process keeps its work
out of the measured process's GIL (it still shares the machine's cores, as a real site would
not: the figures are, if anything, pessimistic). ``PUT /_bench/<path>`` replaces a document, so
the alert-latency run can publish a new feed entry while the server runs.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import socket
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from multiprocessing.connection import Connection
from typing import Any

import httpx

_ADMIN = "/_bench"


def _content_type(path: str) -> str:
    return "application/rss+xml" if path.endswith(".xml") else "text/html; charset=utf-8"


def _etag(body: bytes) -> str:
    return '"' + hashlib.blake2b(body, digest_size=8).hexdigest() + '"'


def _serve(documents: dict[str, bytes], sock: socket.socket, ready: Connection) -> None:
    store = {path: (body, _etag(body)) for path, body in documents.items()}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out in separate writes; without TCP_NODELAY each response
        # waits ~40 ms for the client's delayed ACK.
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: object) -> None:
            pass

        def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if body:
                self.wfile.write(body)

        def do_PUT(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if not self.path.startswith(_ADMIN + "/"):
                self._send(405, b"", {})
                return
            path = self.path[len(_ADMIN) :]
            store[path] = (body, _etag(body))
            self._send(204, b"", {})

        def do_GET(self) -> None:
            found = store.get(self.path.split("?")[0])
            if found is None:
                self._send(404, b"not found", {"Content-Type": "text/plain"})
                return
            body, etag = found
            if self.headers.get("If-None-Match") == etag:
                self._send(304, b"", {"ETag": etag})
                return
            self._send(200, body, {"Content-Type": _content_type(self.path), "ETag": etag})

    class Server(ThreadingHTTPServer):
        daemon_threads = True
        request_queue_size = 256

    server = Server(sock.getsockname(), Handler, bind_and_activate=False)
    server.socket.close()
    server.socket = sock
    ready.send(True)
    server.serve_forever(poll_interval=0.2)


class BenchServer:
    """``with BenchServer(documents) as server: server.url("/f/0.xml")``; ``server.put(path, body)``."""

    def __init__(self, documents: dict[str, bytes]) -> None:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(256)
        self._documents = documents
        self._process: Any = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._sock.getsockname()[1]}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def start(self, documents: dict[str, bytes] | None = None) -> BenchServer:
        """Fork the server process; ``documents`` (if given) replace those passed at construction."""
        if documents is not None:
            self._documents = documents
        parent, child = multiprocessing.get_context("fork").Pipe()
        self._process = multiprocessing.get_context("fork").Process(
            target=_serve, args=(self._documents, self._sock, child), daemon=True, name="bench-http"
        )
        self._process.start()
        parent.recv()
        self._documents = {}  # the child has them; keep the measured process lean
        return self

    def put(self, path: str, body: bytes) -> None:
        httpx.put(f"{self.base_url}{_ADMIN}{path}", content=body, timeout=10.0).raise_for_status()

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.join(10)
            self._process = None
        self._sock.close()

    def __enter__(self) -> BenchServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
