"""``muniwatch kibana import`` against a fake Kibana on loopback that records the request."""

from __future__ import annotations

import email
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from pipeline.cli import main
from pipeline.search.kibana import ndjson_payload
from pipeline.settings import load_settings

pytestmark = pytest.mark.integration  # talks to a server on loopback


class FakeKibana:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.answer: tuple[int, dict[str, Any]] = (200, {"success": True, "successCount": 11, "errors": []})
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                outer.requests.append(
                    {
                        "path": self.path,
                        "headers": {k.lower(): v for k, v in self.headers.items()},
                        "body": body,
                    }
                )
                status, answer = outer.answer
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture()
def kibana(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeKibana]:
    server = FakeKibana()
    monkeypatch.setenv("MUNIWATCH_INDEX_PREFIX", "newsroom")
    monkeypatch.setenv("MUNIWATCH_KIBANA_URL", server.url)
    yield server
    server.close()


def uploaded_file(request: dict[str, Any]) -> tuple[str | None, bytes]:
    message = email.message_from_bytes(
        f"Content-Type: {request['headers']['content-type']}\r\n\r\n".encode() + request["body"]
    )
    parts = [p for p in message.walk() if not p.is_multipart()]
    assert len(parts) == 1
    assert parts[0].get_param("name", header="content-disposition") == "file"
    payload = parts[0].get_payload(decode=True)
    assert isinstance(payload, bytes)
    return parts[0].get_filename(), payload


def test_import_posts_the_saved_objects_as_a_multipart_file(
    kibana: FakeKibana, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["kibana", "import"]) == 0
    [request] = kibana.requests
    assert request["path"] == "/api/saved_objects/_import?overwrite=true"
    assert request["headers"]["kbn-xsrf"]
    assert request["headers"]["content-type"].startswith("multipart/form-data; boundary=")
    filename, content = uploaded_file(request)
    assert filename == "muniwatch.ndjson"
    assert content == ndjson_payload(load_settings())
    objects = [json.loads(line) for line in content.decode().splitlines()]
    assert {o["id"] for o in objects} >= {"newsroom-items", "newsroom-dashboard"}
    assert "{{prefix}}" not in content.decode()
    assert "imported 11 saved objects for newsroom-items" in capsys.readouterr().out


def test_url_option_and_credentials(kibana: FakeKibana, capsys: pytest.CaptureFixture[str]) -> None:
    url = kibana.url.replace("http://", "http://analyst:s3cret@")
    assert main(["kibana", "import", "--url", url + "/"]) == 0
    [request] = kibana.requests
    assert request["headers"]["authorization"] == "Basic YW5hbHlzdDpzM2NyZXQ="
    assert "s3cret" not in capsys.readouterr().out


def test_objects_kibana_refuses_are_named(kibana: FakeKibana, capsys: pytest.CaptureFixture[str]) -> None:
    kibana.answer = (
        200,
        {
            "success": False,
            "successCount": 10,
            "errors": [
                {
                    "id": "newsroom-map-jurisdictions",
                    "type": "map",
                    "title": "map of jurisdictions",
                    "error": {
                        "type": "missing_references",
                        "references": [{"type": "index-pattern", "id": "x"}],
                    },
                }
            ],
        },
    )
    assert main(["kibana", "import"]) == 1
    err = capsys.readouterr().err
    assert "map/newsroom-map-jurisdictions" in err and "missing_references" in err


def test_http_errors_and_unreachable_kibana_are_explained(
    kibana: FakeKibana, capsys: pytest.CaptureFixture[str]
) -> None:
    kibana.answer = (403, {"statusCode": 403, "message": "forbidden"})
    assert main(["kibana", "import"]) == 1
    assert "HTTP 403" in capsys.readouterr().err
    kibana.close()
    assert main(["kibana", "import"]) == 1
    assert "is not reachable" in capsys.readouterr().err
