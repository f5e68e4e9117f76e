"""A fake Legistar Web API on loopback: ``/v1/{client}/matters``, ``/events``, ``/events/{id}/eventitems``.

It answers as the real API does: JSON arrays of objects with Legistar's field names, OData
``$filter`` on ``MatterLastModifiedUtc`` (``ge``/``gt``/``lt`` with ``datetime'...'``), ``$orderby``
on it, ``$top`` (at most 1000, as the real API caps it) and ``$skip``. Tests change a matter between
polls with :meth:`FakeLegistar.update`, which stamps a new ``MatterLastModifiedUtc`` as Legistar does.

    fake = FakeLegistar(client="glendaleca")
    fake.add_matter(1, "Resolution authorizing an agreement with U.S. ICE", status="Introduced", ...)
    base = fake.base  # http://127.0.0.1:port/v1/glendaleca
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from pipeline.config import REPO_ROOT
from pipeline.tasks import ConfigPaths

_FILTER = re.compile(r"^MatterLastModifiedUtc\s+(ge|gt|lt|le)\s+datetime'([0-9T:.-]+)'$")
MAX_TOP = 1000


@dataclass(kw_only=True)
class FakeLegistar:
    client: str = "glendaleca"
    matters: dict[int, dict[str, Any]] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)
    # Every /matters query string the server answered (tests check the cursor and the paging).
    queries: list[dict[str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                status, body = outer._answer(self.path)
                payload = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1/{self.client}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def add_matter(
        self,
        matter_id: int,
        title: str,
        *,
        modified: str,
        status: str = "Introduced",
        matter_type: str = "Resolution",
        body: str = "City Council",
        intro: str | None = "2025-06-03T00:00:00",
        agenda: str | None = None,
        passed: str | None = None,
    ) -> None:
        self.matters[matter_id] = {
            "MatterId": matter_id,
            "MatterGuid": str(uuid.UUID(int=matter_id)).upper(),
            "MatterLastModifiedUtc": modified,
            "MatterRowVersion": "AAAAAAB" + str(matter_id),
            "MatterFile": f"25-{matter_id:04d}",
            "MatterName": title[:60],
            "MatterTitle": title,
            "MatterTypeId": 3,
            "MatterTypeName": matter_type,
            "MatterStatusId": 1,
            "MatterStatusName": status,
            "MatterBodyId": 138,
            "MatterBodyName": body,
            "MatterIntroDate": intro,
            "MatterAgendaDate": agenda,
            "MatterPassedDate": passed,
            "MatterEnactmentDate": None,
            "MatterEnactmentNumber": None,
            "MatterRequester": None,
            "MatterNotes": None,
            "MatterVersion": "1",
            "MatterText1": None,
        }

    def update(self, matter_id: int, *, modified: str, **fields: Any) -> None:
        """Change a matter as a clerk would (``MatterStatusName=...``), with a new modification time."""
        self.matters[matter_id].update(fields, MatterLastModifiedUtc=modified)

    def _answer(self, raw_path: str) -> tuple[int, Any]:
        parts = urlsplit(raw_path)
        params = {k: v[0] for k, v in parse_qs(parts.query).items()}
        prefix = f"/v1/{self.client}"
        if not parts.path.startswith(prefix):
            return 404, {"Message": "No HTTP resource was found that matches the request URI."}
        path = parts.path[len(prefix) :]
        if path == "/matters":
            self.queries.append(params)
            rows = sorted(self.matters.values(), key=lambda m: (m["MatterLastModifiedUtc"], m["MatterId"]))
            flt = params.get("$filter")
            if flt:
                match = _FILTER.match(flt.strip())
                if not match:
                    return 400, {"Message": f"The query specified in the URI is not valid: {flt}"}
                op, value = match.groups()
                keep = {
                    "ge": lambda m: m >= value,
                    "gt": lambda m: m > value,
                    "lt": lambda m: m < value,
                    "le": lambda m: m <= value,
                }[op]
                rows = [m for m in rows if keep(m["MatterLastModifiedUtc"][: len(value)])]
            skip = int(params.get("$skip", 0))
            top = min(int(params.get("$top", MAX_TOP)), MAX_TOP)
            return 200, rows[skip : skip + top]
        if path == "/events":
            return 200, self.events
        found = re.fullmatch(r"/events/(\d+)/eventitems", path)
        if found:
            event = next((e for e in self.events if e["EventId"] == int(found.group(1))), None)
            return (200, event.get("items", [])) if event else (404, {"Message": "Event not found"})
        return 404, {"Message": "No HTTP resource was found that matches the request URI."}


def glendale_config(folder: Path, base: str) -> ConfigPaths:
    """Configuration for one Legistar source (Glendale, CA's council at ``base``) and a CA desk."""
    (folder / "sources.yaml").write_text(
        "sources:\n"
        "  - {id: glendale-council, kind: legistar, client: glendaleca,\n"
        f"     jurisdiction: {{name: Glendale, type: city, state: CA}}, url: '{base}'}}\n",
        encoding="utf-8",
    )
    (folder / "subscriptions.yaml").write_text(
        "subscriptions:\n  - {id: ca-desk, email: desk@example.org, filter: {states: [CA]}}\n",
        encoding="utf-8",
    )
    return ConfigPaths(
        sources=folder / "sources.yaml",
        watchlists=REPO_ROOT / "config" / "watchlists.yaml",
        subscriptions=folder / "subscriptions.yaml",
    )
