"""``muniwatch serve`` in a thread of the current process: for ``muniwatch demo`` (so the demo's
e-mail links work while it runs) and for tests that talk to it over real HTTP on loopback."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from elasticsearch import Elasticsearch

from pipeline.settings import Settings
from pipeline.web.app import create_app

START_TIMEOUT_S = 15.0


class ServeError(RuntimeError):
    """The web service did not start (port taken, ...)."""


@contextmanager
def serving(
    settings: Settings, es: Elasticsearch, *, host: str = "127.0.0.1", port: int = 0
) -> Iterator[str]:
    """Run the app until the block ends; yields its base URL (``port=0``: any free port)."""
    config = uvicorn.Config(
        create_app(settings, es), host=host, port=port, access_log=False, log_level="warning", lifespan="off"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="muniwatch-serve", daemon=True)
    thread.start()
    deadline = time.monotonic() + START_TIMEOUT_S
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise ServeError(f"muniwatch serve did not start on {host}:{port} (is the port taken?)")
        time.sleep(0.05)
    bound = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://{host}:{bound}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
