"""Kibana as code: load the saved objects shipped in the package
(``pipeline/search/saved_objects/*.ndjson``) through Kibana's saved-objects import API.

The files hold a data view on the ``{prefix}-items`` alias (and one on ``{prefix}-stories``),
saved searches, Lens visualisations, a map and a dashboard, with ``{{prefix}}`` where the index
prefix goes — so one Kibana can show several deployments side by side. ``muniwatch kibana
import`` substitutes the prefix and posts them, overwriting earlier versions of the same ids.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from pipeline.settings import Settings, load_settings, without_credentials

LOGGER = logging.getLogger(__name__)

# Package data, so `muniwatch kibana import` works from an installed package (docker-compose does that).
KIBANA_DIR = Path(__file__).resolve().parent / "saved_objects"
PLACEHOLDER = "{{prefix}}"
IMPORT_PATH = "/api/saved_objects/_import"
TIMEOUT_S = 60.0


class KibanaError(RuntimeError):
    """Kibana could not be reached or refused the import; the message says which objects and why."""


@dataclass(kw_only=True)
class ImportResult:
    success: bool
    success_count: int
    errors: list[str] = field(default_factory=list)


def saved_objects(settings: Settings, directory: Path = KIBANA_DIR) -> list[dict[str, Any]]:
    """The saved objects of every ``*.ndjson`` file (in name order) with the index prefix filled in."""
    objects: list[dict[str, Any]] = []
    for path in sorted(directory.glob("*.ndjson")):
        text = path.read_text(encoding="utf-8").replace(PLACEHOLDER, settings.index_prefix)
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                objects.append(json.loads(line))
            except json.JSONDecodeError as error:
                raise KibanaError(f"{path}:{number}: not a JSON object: {error.msg}") from error
    return objects


def ndjson_payload(settings: Settings, directory: Path = KIBANA_DIR) -> bytes:
    """The file posted to Kibana: one saved object per line."""
    lines = (
        json.dumps(obj, separators=(",", ":"), ensure_ascii=False)
        for obj in saved_objects(settings, directory)
    )
    return ("\n".join(lines) + "\n").encode("utf-8")


def _basic_auth(url: str) -> tuple[str, str] | None:
    """The user and password in ``url`` (sent as HTTP basic auth, never in the URL)."""
    parts = urlsplit(url)
    return (parts.username, parts.password or "") if parts.username else None


def import_saved_objects(
    settings: Settings, *, url: str | None = None, directory: Path = KIBANA_DIR
) -> ImportResult:
    """Post the saved objects to ``{url}/api/saved_objects/_import?overwrite=true``.

    Raises:
        KibanaError: Kibana is unreachable or answered with an HTTP error.
    """
    base, auth = without_credentials(url or settings.kibana_url), _basic_auth(url or settings.kibana_url)
    payload = ndjson_payload(settings, directory)
    try:
        response = httpx.post(
            base + IMPORT_PATH,
            params={"overwrite": "true"},
            headers={"kbn-xsrf": "muniwatch"},
            files={"file": ("muniwatch.ndjson", payload, "application/ndjson")},
            auth=auth,
            timeout=TIMEOUT_S,
        )
    except httpx.HTTPError as error:
        raise KibanaError(f"Kibana at {base} is not reachable: {error}") from error
    if response.status_code >= 400:
        raise KibanaError(
            f"Kibana at {base} refused the import: HTTP {response.status_code} {response.text[:500]}"
        )
    body = response.json()
    errors = [
        f"{e.get('type')}/{e.get('id')} ({e.get('title', '')}): {e.get('error', {}).get('type')} "
        f"{json.dumps(e.get('error', {}).get('references') or e.get('error', {}).get('message') or '')}"
        for e in body.get("errors") or []
    ]
    return ImportResult(
        success=bool(body.get("success")), success_count=int(body.get("successCount", 0)), errors=errors
    )


def kibana_command(args: argparse.Namespace) -> int:
    """``muniwatch kibana import [--url URL]``."""
    settings = load_settings()
    try:
        result = import_saved_objects(settings, url=args.url)
    except KibanaError as error:
        print(f"muniwatch kibana import: {error}", file=sys.stderr)
        return 1
    for problem in result.errors:
        print(f"  not imported: {problem}", file=sys.stderr)
    where = without_credentials(args.url or settings.kibana_url)
    print(
        f"imported {result.success_count} saved objects for {settings.index('items')} "
        f"({len(result.errors)} errors); open {where}/app/dashboards"
    )
    return 0 if result.success and not result.errors else 1
