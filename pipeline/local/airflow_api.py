"""The distributed stack's Airflow REST API as the UI uses it (tests and the benchmark drive runs with it)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx

from pipeline.local.backing import DistributedError
from pipeline.local.distributed import AIRFLOW_PORT, airflow_home


class AirflowAPI:
    """The stack's REST API, as the UI uses it: trigger DAG runs, read runs and task instances.

    Calls are retried for a minute while the API server cannot answer (a restarting Postgres).
    """

    def __init__(self, var_dir: Path) -> None:
        self.base = f"http://127.0.0.1:{AIRFLOW_PORT}"
        self.var_dir = var_dir
        self._token = ""

    def _headers(self) -> dict[str, str]:
        if not self._token:
            users = json.loads((airflow_home(self.var_dir) / "passwords.json").read_text())
            answer = httpx.post(
                f"{self.base}/auth/token", json={"username": "admin", "password": users["admin"]}, timeout=30
            )
            answer.raise_for_status()
            self._token = str(answer.json()["access_token"])
        return {"Authorization": f"Bearer {self._token}"}

    def get(self, path: str, **params: str | int) -> Any:
        last = ""
        for _ in range(30):
            try:
                answer = httpx.get(
                    f"{self.base}/api/v2{path}", params=params, headers=self._headers(), timeout=30
                )
                if answer.status_code < 500:
                    answer.raise_for_status()
                    return answer.json()
                last = f"HTTP {answer.status_code}"
            except httpx.TransportError as error:
                last = str(error)
            time.sleep(2)
        raise DistributedError(f"Airflow API GET {path} kept failing: {last}")

    def trigger(self, dag_id: str) -> str:
        answer = httpx.post(
            f"{self.base}/api/v2/dags/{dag_id}/dagRuns",
            json={"logical_date": None},
            headers=self._headers(),
            timeout=30,
        )
        answer.raise_for_status()
        return str(answer.json()["dag_run_id"])

    def runs(self, dag_id: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.get(f"/dags/{dag_id}/dagRuns", order_by="-run_after", limit=50)[
            "dag_runs"
        ]
        return found

    def task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.get(f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances")[
            "task_instances"
        ]
        return found

    def tries(self, dag_id: str, run_id: str, task_id: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.get(
            f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/tries"
        )["task_instances"]
        return found
