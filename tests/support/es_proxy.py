"""A loopback HTTP proxy in front of the real Elasticsearch that refuses request bodies over a
size with 413, as a node with a smaller ``http.max_content_length`` does, and counts requests.

The local node's limit (100 MB) is not changeable at run time; this puts the same refusal at a
size a test can reach in milliseconds. Everything else is forwarded unchanged."""

from __future__ import annotations

import http.client
import json
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit


class SizeLimitingProxy:
    def __init__(self, es_url: str, max_body_bytes: int) -> None:
        target = urlsplit(es_url)
        self.max_body_bytes = max_body_bytes
        self.requests: Counter[str] = Counter()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def _forward(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                path = urlsplit(self.path).path
                proxy.requests[f"{self.command} {path}"] += 1
                if len(body) > proxy.max_body_bytes:
                    payload = json.dumps(
                        {
                            "error": {"type": "request_too_large", "reason": "request body is too large"},
                            "status": 413,
                        }
                    )
                    self._answer(413, payload.encode(), "application/json")
                    return
                upstream = http.client.HTTPConnection(target.hostname or "127.0.0.1", target.port or 9200)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
                upstream.request(self.command, self.path, body=body or None, headers=headers)
                answer = upstream.getresponse()
                data = answer.read()
                self._answer(
                    answer.status,
                    data,
                    answer.getheader("Content-Type") or "application/json",
                    {"X-Elastic-Product": answer.getheader("X-Elastic-Product") or "Elasticsearch"},
                )
                upstream.close()

            def _answer(
                self, status: int, data: bytes, content_type: str, extra: dict[str, str] | None = None
            ) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("X-Elastic-Product", "Elasticsearch")
                for key, value in (extra or {}).items():
                    if key != "X-Elastic-Product":
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _forward

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
