"""The distributed stack for the tests of this folder (``make test-distributed``; not in ``make test``).

One stack per session, with its own var folder (``var/distributed-test``: Postgres data, Airflow
home, Elasticsearch data), started by the same code as ``muniwatch stack up --distributed`` and
stopped after. Its ports are the stack's own; if a ``make up-distributed`` stack holds them, the test
says so instead of touching it.
"""

from __future__ import annotations

import shutil
import signal
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

import pytest

from pipeline.local import backing, cluster, distributed
from pipeline.local.airflow_api import AirflowAPI
from pipeline.settings import REPO_ROOT, Settings, load_settings
from tests.support.http import LoopbackHTTPServer
from tests.support.smtp import LoopbackSMTPServer

VAR_DIR = REPO_ROOT / "var" / "distributed-test"
INDEX_PREFIX = "mwdist"


@dataclass
class Stack:
    settings: Settings
    config_dir: Path
    feeds: LoopbackHTTPServer
    smtp: LoopbackSMTPServer
    api: AirflowAPI


def _port_free(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


def _interrupt(signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    ports = [backing.POSTGRES_PORT, distributed.REDIS_PORT, distributed.AIRFLOW_PORT]
    ports += [node.http_port for node in cluster.nodes(VAR_DIR)]
    if taken := [port for port in ports if not _port_free(port)]:
        pytest.fail(f"ports {taken} on 127.0.0.1 are taken (a `make up-distributed` stack?): stop it first")
    shutil.rmtree(VAR_DIR, ignore_errors=True)
    config_dir = tmp_path_factory.mktemp("distributed-config")
    feeds = LoopbackHTTPServer()
    smtp = LoopbackSMTPServer()
    settings = load_settings({"MUNIWATCH_VAR_DIR": str(VAR_DIR)})
    # The stack's processes inherit this: a failed task's first retry after 5-10 s instead of
    # 30-60 s (the worker fault waits for it; the wait is configuration, not what is tested).
    environment = pytest.MonkeyPatch()
    environment.setenv("MUNIWATCH_RETRY_DELAY_S", "5")
    # A CI timeout or `kill` sends SIGTERM, which would end pytest without its teardown and leave
    # the stack running: turn it into the interrupt pytest tears down after.
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        yield Stack(settings=settings, config_dir=config_dir, feeds=feeds, smtp=smtp, api=AirflowAPI(VAR_DIR))
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second SIGTERM must not cut the clean-up short
        for line in distributed.down(settings):
            print(line)
        feeds.close()
        smtp.stop()
        environment.undo()
        signal.signal(signal.SIGTERM, previous)
