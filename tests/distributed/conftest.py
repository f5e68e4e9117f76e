"""The distributed stack for the tests of this folder (``make test-distributed``; not in ``make test``).

One stack per session, with its own var folder (``var/distributed-test``: Postgres data, Airflow
home, Elasticsearch data), started by the same code as ``muniwatch stack up --distributed`` and
stopped after. Its ports are the stack's own; if a ``make up-distributed`` stack holds them, the test
says so instead of touching it.
"""

from __future__ import annotations

import json
import shutil
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from pipeline.local import cluster, distributed
from pipeline.settings import REPO_ROOT, Settings, load_settings
from tests.support.http import LoopbackHTTPServer
from tests.support.smtp import LoopbackSMTPServer

VAR_DIR = REPO_ROOT / "var" / "distributed-test"
INDEX_PREFIX = "mwdist"
API = f"http://127.0.0.1:{distributed.AIRFLOW_PORT}"


@dataclass
class Stack:
    settings: Settings
    config_dir: Path
    feeds: LoopbackHTTPServer
    smtp: LoopbackSMTPServer
    env: dict[str, str]
    token: str = ""

    # --- Airflow's REST API (what the UI uses) -------------------------------------------------
    def _headers(self) -> dict[str, str]:
        if not self.token:
            password = json.loads((distributed.airflow_home(VAR_DIR) / "passwords.json").read_text())["admin"]
            answer = httpx.post(
                f"{API}/auth/token", json={"username": "admin", "password": password}, timeout=30
            )
            answer.raise_for_status()
            self.token = answer.json()["access_token"]
        return {"Authorization": f"Bearer {self.token}"}

    def get(self, path: str, **params: Any) -> Any:
        for _ in range(30):  # the API server may be briefly unable to reach a restarting Postgres
            try:
                answer = httpx.get(f"{API}/api/v2{path}", params=params, headers=self._headers(), timeout=30)
                if answer.status_code < 500:
                    answer.raise_for_status()
                    return answer.json()
            except httpx.TransportError:
                pass
            time.sleep(2)
        raise AssertionError(f"GET {path} kept failing")

    def trigger(self, dag_id: str) -> str:
        answer = httpx.post(
            f"{API}/api/v2/dags/{dag_id}/dagRuns",
            json={"logical_date": None},
            headers=self._headers(),
            timeout=30,
        )
        answer.raise_for_status()
        return str(answer.json()["dag_run_id"])

    def runs(self, dag_id: str) -> list[dict[str, Any]]:
        runs: list[dict[str, Any]] = self.get(f"/dags/{dag_id}/dagRuns", order_by="-run_after", limit=50)[
            "dag_runs"
        ]
        return runs

    def task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.get(f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances")[
            "task_instances"
        ]
        return found

    def tries(self, dag_id: str, run_id: str, task_id: str, map_index: int = -1) -> list[dict[str, Any]]:
        path = f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/{map_index}/tries"
        if map_index == -1:
            path = f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/tries"
        found: list[dict[str, Any]] = self.get(path)["task_instances"]
        return found


def _port_free(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    ports = [distributed.POSTGRES_PORT, distributed.REDIS_PORT, distributed.AIRFLOW_PORT]
    ports += [node.http_port for node in cluster.nodes(VAR_DIR)]
    if taken := [port for port in ports if not _port_free(port)]:
        pytest.fail(f"ports {taken} on 127.0.0.1 are taken (a `make up-distributed` stack?): stop it first")
    shutil.rmtree(VAR_DIR, ignore_errors=True)
    config_dir = tmp_path_factory.mktemp("distributed-config")
    feeds = LoopbackHTTPServer()
    smtp = LoopbackSMTPServer()
    settings = load_settings({"MUNIWATCH_VAR_DIR": str(VAR_DIR)})
    try:
        yield Stack(settings=settings, config_dir=config_dir, feeds=feeds, smtp=smtp, env={})
    finally:
        for line in distributed.down(settings):
            print(line)
        feeds.close()
        smtp.stop()
