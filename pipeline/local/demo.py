"""An offline demo: bundled sample feeds and pages served from 127.0.0.1, run through the whole
pipeline (`make demo`, and the sources Airflow polls under `make up`).

The files in ``pipeline/data/demo`` carry ``{{BASE}}`` where the server's URL goes; the demo
configuration written next to the outbox points the sources at that server and allows the
fetcher to reach loopback for it (and nothing else).

While the demo runs, ``muniwatch serve`` answers on 127.0.0.1:8090 (or a free port when that one is
taken, and the e-mails then link there), so the demo e-mail's unsubscribe and digest-preview links
work; ``muniwatch demo --serve`` keeps serving after the run until Ctrl-C.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import yaml

from pipeline.runner import print_summary, quiet_source_log, run_once
from pipeline.search.links import search_command_for
from pipeline.settings import DEFAULT_SERVE_PORT, Settings, load_settings
from pipeline.store.client import make_client
from pipeline.store.indices import delete_all
from pipeline.tasks import ConfigPaths

DEMO_DIR = Path(__file__).resolve().parents[1] / "data" / "demo"
DEMO_PREFIX = "muniwatch-demo"
# A fixed port keeps page URLs (hence item ids) the same from one demo run to the next.
DEMO_PORT = 18765
# Paths a real Mastodon server would use, mapped onto the bundled files.
_ALIASES = {"/@dreyes.rss": "/feeds/reporter-social.rss"}
_TYPES = {
    ".xml": "application/rss+xml",
    ".rss": "application/rss+xml",
    ".atom": "application/atom+xml",
    ".html": "text/html; charset=utf-8",
}


class DemoServer:
    """Serves ``pipeline/data/demo`` on 127.0.0.1 with ETag support, like a well-behaved site."""

    def __init__(self, port: int = 0) -> None:
        demo = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                demo._serve(self)

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> DemoServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _serve(self, request: BaseHTTPRequestHandler) -> None:
        path = request.path.split("?")[0].split("#")[0]
        path = _ALIASES.get(path, path)
        file = (DEMO_DIR / path.lstrip("/")).resolve()
        if DEMO_DIR.resolve() not in file.parents or not file.is_file() or file.suffix not in _TYPES:
            request.send_response(404)
            request.send_header("Content-Length", "0")
            request.end_headers()
            return
        body = file.read_bytes().replace(b"{{BASE}}", self.base_url.encode())
        etag = f'"{file.stat().st_mtime_ns:x}-{len(body):x}"'
        if request.headers.get("If-None-Match") == etag:
            request.send_response(304)
            request.send_header("ETag", etag)
            request.end_headers()
            return
        request.send_response(200)
        request.send_header("Content-Type", _TYPES[file.suffix])
        request.send_header("Content-Length", str(len(body)))
        request.send_header("ETag", etag)
        request.end_headers()
        request.wfile.write(body)


def write_demo_config(directory: Path, base_url: str) -> ConfigPaths:
    """Demo sources/watchlists/subscriptions pointing at a running :class:`DemoServer`."""
    directory.mkdir(parents=True, exist_ok=True)
    sources = {
        "sources": [
            {
                "id": "demo-foothill-ledger",
                "kind": "rss",
                "url": f"{base_url}/feeds/foothill-ledger.xml",
                "home_state": "CA",
                "priority": True,
                "group": "demo-news",
            },
            {
                "id": "demo-garden-state-wire",
                "kind": "rss",
                "url": f"{base_url}/feeds/garden-state-wire.atom",
                "home_state": "NJ",
                "group": "demo-news",
            },
            {
                "id": "demo-civic-safety-review",
                "kind": "rss",
                "url": f"{base_url}/feeds/civic-safety-review.xml",
                "group": "demo-news",
            },
            {
                "id": "demo-reporter-mastodon",
                "kind": "rss",
                "url": f"{base_url}/@dreyes.rss",
                "group": "demo-social",
            },
        ]
    }
    watchlists = {
        "watchlists": [
            {
                "id": "ice-cooperation",
                "rules": [
                    '"ICE contract"',
                    "287(g)",
                    "ICE AND (detainer OR jail OR contract)",
                    "sanctuary NEAR/5 (city OR county)",
                ],
            }
        ]
    }
    subscriptions = {
        "subscriptions": [
            {
                "id": "demo-ca-desk",
                "email": "ca-desk@example.org",
                "mode": "immediate",
                "filter": {"states": ["CA"]},
            },
            {
                "id": "demo-detention-contracts",
                "email": "investigations@example.org",
                "mode": "daily",
                "timezone": "America/New_York",
                "digest_hour": 7,
                "filter": {"query": "contract OR 287(g)"},
            },
        ]
    }
    paths = ConfigPaths(
        sources=directory / "sources.yaml",
        watchlists=directory / "watchlists.yaml",
        subscriptions=directory / "subscriptions.yaml",
    )
    for path, data in (
        (paths.sources, sources),
        (paths.watchlists, watchlists),
        (paths.subscriptions, subscriptions),
    ):
        path.write_text(
            "# Written by muniwatch demo; points at the local demo server.\n"
            + yaml.safe_dump(data, sort_keys=False)
        )
    return paths


def demo_settings(settings: Settings, explicit_prefix: bool) -> Settings:
    """Keep demo documents apart from real ones unless the user chose a prefix."""
    return settings.with_overrides(
        index_prefix=settings.index_prefix if explicit_prefix else DEMO_PREFIX,
        allow_hosts=settings.allow_hosts | {"127.0.0.1"},
    )


@contextmanager
def running_demo(directory: Path) -> Iterator[tuple[DemoServer, ConfigPaths]]:
    try:
        server = DemoServer(DEMO_PORT).start()
    except OSError:  # taken (a second demo, or `make up` serving it): any free port
        server = DemoServer().start()
    try:
        yield server, write_demo_config(directory, server.base_url)
    finally:
        server.stop()


@contextmanager
def demo_serve(settings: Settings) -> Iterator[Settings]:
    """``muniwatch serve`` for the demo's indices, on 8090 or any free port; yields the settings whose
    e-mail links point at it (a public URL the user set is kept as it is)."""
    from pipeline.web.background import serving

    with socket.socket() as probe:
        probe.settimeout(0.5)
        taken = probe.connect_ex(("127.0.0.1", DEFAULT_SERVE_PORT)) == 0  # `make up`'s serve, another demo
    with ExitStack() as stack:
        es = make_client(settings)
        stack.callback(es.close)
        url = stack.enter_context(serving(settings, es, port=0 if taken else DEFAULT_SERVE_PORT))
        explicit = bool(os.environ.get("MUNIWATCH_PUBLIC_URL"))
        yield settings if explicit else settings.with_overrides(public_url=url)


def demo_command(args: argparse.Namespace) -> int:
    settings = demo_settings(load_settings(), "MUNIWATCH_INDEX_PREFIX" in os.environ)
    if getattr(args, "fresh", False):
        if settings.index_prefix != DEMO_PREFIX:
            print(
                f"--fresh deletes indices; it only works on the demo prefix {DEMO_PREFIX!r}, "
                f"not on {settings.index_prefix!r}",
                file=sys.stderr,
            )
            return 2
        delete_all(make_client(settings), settings)  # the demo's own prefix only
        print(f"removed the indices under {settings.index_prefix}-* for a fresh demo")
    keep_serving = bool(getattr(args, "serve", False))
    with running_demo(settings.var_dir / "demo") as (server, paths), demo_serve(settings) as settings:
        print(f"demo feeds served at {server.base_url}; index prefix {settings.index_prefix}")
        print(f"muniwatch serve (the e-mail's unsubscribe and digest-preview links): {settings.public_url}/")
        quiet_source_log()
        summary = run_once(settings, paths, now=datetime.now(UTC))
        print_summary(summary, settings, as_json=bool(getattr(args, "json", False)))
        if not getattr(args, "json", False):
            search = search_command_for(settings.index_prefix)
            print(f"search the demo's items (June 2025: no --since): {search}")
        if keep_serving:
            print(f"serving {settings.public_url}/ until Ctrl-C", flush=True)
            with suppress(KeyboardInterrupt):
                threading.Event().wait()
        else:
            print("(the e-mail links answer only while a demo runs: `muniwatch demo --serve` keeps serving)")
    return 0 if summary.ok else 1
