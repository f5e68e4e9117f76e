"""``python -m bench.distributed``: items/s through the distributed stack, one Celery worker vs two.

Starts the loopback distributed stack (``pipeline.local.distributed``: Postgres, Redis, three
Elasticsearch nodes, Airflow on the CeleryExecutor) with its own var folder
(``var/bench-distributed``), then runs the same kind of work twice on fresh feeds — first with
``airflow-worker-2`` stopped, then with both workers: ``--feeds`` feeds, each its own source group
(so ``muniwatch_poll`` maps one task per feed), ``--pages`` generated article pages spread over them.
Each run starts when no DAG run is in flight and is timed from triggering ``muniwatch_poll`` to the
moment no item of the run is pending any more and the ``muniwatch_enrich`` run it started has
finished; the poll run's own duration (its mapped tasks are what two workers share) and the 1-minute
load average before and after are reported beside it. Prints one JSON object; stops the stack.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from bench.corpus import pipeline_corpus
from bench.server import BenchServer
from pipeline.local import cluster, distributed
from pipeline.local.airflow_api import AirflowAPI
from pipeline.settings import REPO_ROOT, load_settings
from pipeline.store.client import make_client

VAR_DIR = REPO_ROOT / "var" / "bench-distributed"
PREFIX = "mwbench-dist"
RUN_TIMEOUT_S = 900.0


def _write_config(folder: Path, server: BenchServer, feeds: list[str], run: str) -> None:
    sources = [
        {
            "id": f"{run}-{n}",
            "kind": "rss",
            "url": server.url(path),
            "group": f"{run}-{n}",
            "interval": "30s",
            "fetch_budget": 10_000,
        }
        for n, path in enumerate(feeds)
    ]
    (folder / "sources.yaml").write_text(yaml.safe_dump({"sources": sources}))
    (folder / "subscriptions.yaml").write_text(yaml.safe_dump({"subscriptions": []}))
    (folder / "watchlists.yaml").write_text((REPO_ROOT / "config" / "watchlists.yaml").read_text())


def _counts(run: str) -> tuple[int, int]:
    """(items of this run, of which still pending)."""
    settings = load_settings({"MUNIWATCH_ES_URL": cluster.es_url(VAR_DIR), "MUNIWATCH_INDEX_PREFIX": PREFIX})
    es = make_client(settings)
    try:
        index = settings.index("items")
        es.indices.refresh(index=index)
        mine = {"prefix": {"source_id": f"{run}-"}}
        total = es.count(index=index, query=mine)["count"]
        pending = es.count(index=index, query={"bool": {"filter": [mine, {"term": {"status": "pending"}}]}})
        return int(total), int(pending["count"])
    finally:
        es.close()


def _idle(api: AirflowAPI) -> bool:
    dags = ("muniwatch_poll", "muniwatch_enrich", "muniwatch_alerts", "muniwatch_maintenance")
    return all(run["state"] not in {"queued", "running"} for dag in dags for run in api.runs(dag)[:3])


def _wait_idle(api: AirflowAPI) -> None:
    """No DAG run in flight: a measured run shares the workers with nothing else."""
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while not _idle(api):
        if time.monotonic() > deadline:
            raise TimeoutError(f"DAG runs still in flight after {RUN_TIMEOUT_S:.0f}s")
        time.sleep(2)


def _seconds(run: dict[str, Any]) -> float:
    start = datetime.fromisoformat(run["start_date"])
    return (datetime.fromisoformat(run["end_date"]) - start).total_seconds()


def timed_run(api: AirflowAPI, run: str, configure: Callable[[], None]) -> dict[str, Any]:
    """Trigger a poll; time it to the end of the enrich run it starts. The poll run's own time
    (start to end as Airflow records it) is the part the workers share: its tasks are mapped."""
    _wait_idle(api)
    configure()  # the run's feeds, only now: a poll before this one would take them
    started_enrich_runs = len(api.runs("muniwatch_enrich"))
    load_before = os.getloadavg()[0]
    start = time.monotonic()
    poll_run = api.trigger("muniwatch_poll")
    deadline = start + RUN_TIMEOUT_S
    while time.monotonic() < deadline:
        total, pending = _counts(run)
        enrich = api.runs("muniwatch_enrich")
        finished = [r for r in enrich if r["state"] in {"success", "failed"}]
        if total and not pending and len(finished) > started_enrich_runs and enrich[0]["state"] != "running":
            elapsed = time.monotonic() - start
            poll = api.get(f"/dags/muniwatch_poll/dagRuns/{poll_run}")
            return {
                "items": total,
                "seconds": round(elapsed, 1),
                "items_per_s": round(total / elapsed, 3),
                "poll_seconds": round(_seconds(poll), 1),
                "poll_items_per_s": round(total / _seconds(poll), 3),
                "enrich_seconds": round(_seconds(enrich[0]), 1),
                "load_avg_1m": [round(load_before, 1), round(os.getloadavg()[0], 1)],
            }
        time.sleep(2)
    raise TimeoutError(f"run {run} did not finish within {RUN_TIMEOUT_S:.0f}s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=80)
    parser.add_argument("--feeds", type=int, default=8)
    args = parser.parse_args(argv)
    config_dir = VAR_DIR / "config"
    config_dir.mkdir(parents=True, exist_ok=True)
    settings = load_settings({"MUNIWATCH_VAR_DIR": str(VAR_DIR)})
    servers = [BenchServer({}), BenchServer({})]
    corpora = [
        pipeline_corpus(s.base_url, args.pages, feeds=args.feeds, seed=21 + n) for n, s in enumerate(servers)
    ]
    for server, corpus in zip(servers, corpora, strict=True):
        server.start({**{p: page.body for p, page in corpus.pages.items()}, **corpus.feeds})
    result: dict[str, Any] = {"pages": args.pages, "feeds": args.feeds}
    # Source ids of this invocation only: a stack left running by an earlier one keeps its items.
    one, two = (f"{label}{int(time.time())}" for label in ("one", "two"))
    try:
        # No sources while the stack starts: its own first poll (run_immediately) and the scheduled
        # ones would otherwise take the measured feeds before the measured run does.
        _write_config(config_dir, servers[0], [], one)
        distributed.up(settings, config_dir=config_dir, index_prefix=PREFIX)
        api = AirflowAPI(VAR_DIR)
        worker_2 = distributed.airflow_processes(VAR_DIR)["airflow-worker-2"]
        worker_2.stop()
        result["one_worker"] = timed_run(
            api, one, lambda: _write_config(config_dir, servers[0], list(corpora[0].feeds), one)
        )
        _write_config(config_dir, servers[0], [], one)
        env = distributed.airflow_environment(VAR_DIR, config_dir=config_dir, index_prefix=PREFIX)
        worker_2.start(distributed.service_environment(env, "airflow-worker-2"))
        distributed.wait_healthy(env, ["airflow-worker-2"])
        result["two_workers"] = timed_run(
            api, two, lambda: _write_config(config_dir, servers[1], list(corpora[1].feeds), two)
        )
        for key, measure in (("two_vs_one", "items_per_s"), ("poll_two_vs_one", "poll_items_per_s")):
            result[key] = round(result["two_workers"][measure] / result["one_worker"][measure], 2)
    finally:
        for server in servers:
            server.stop()
        distributed.down(settings)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
