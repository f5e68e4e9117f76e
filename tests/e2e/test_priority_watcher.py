"""In a running Airflow, a new entry on a priority feed starts a poll at once, and it is alerted.

A real ``airflow standalone`` (scheduler, triggerer, DAG processor, API server) started by
``pipeline.local.stack.up`` under this test's own folder, ports and index prefix (the benchmark's
``LatencyStack``); the priority feed is served by this process and the SMTP sink is this
process's. The watcher looks every 2 s here (``MUNIWATCH_PRIORITY_CHECK_INTERVAL_S``) so that
the test stays short; nothing about timing is asserted. Skipped, saying why, when Airflow cannot
start on this machine.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from bench.airflow_latency import SOURCE_ID, LatencyStack
from bench.corpus import alert_pages
from pipeline.local.stack import StackError
from pipeline.settings import Settings

pytestmark = pytest.mark.e2e

WAIT_S = 90.0


def _eventually(probe: Callable[[], Any], what: str, lab: LatencyStack) -> Any:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.5)
    pytest.fail(f"{what} within {WAIT_S:.0f}s; see {lab.logs}/airflow.log; DAG runs: {lab.dag_runs()}")


def test_a_new_priority_entry_fires_a_poll_that_enqueues_and_alerts_it(
    settings: Settings, es: Elasticsearch
) -> None:
    lab = LatencyStack(settings, prefix=settings.index_prefix, check_interval_s=2.0)
    try:
        lab.__enter__()
    except StackError as error:
        pytest.skip(f"Airflow standalone could not start here: {error}")
    try:
        assert lab.wait_for_baseline(), f"the watcher never revalidated the feed; see {lab.logs}"
        assert lab.watcher_events() == [], "the entries there before the watcher started fire nothing"
        page = alert_pages(1)[0]
        lab.publish(page)

        def watcher_poll() -> list[dict[str, Any]]:
            return [r for r in lab.dag_runs() if r["dag_id"] == "muniwatch_poll"
                    and r["run_type"] == "asset_triggered" and r["state"] == "success"]  # fmt: skip

        _eventually(watcher_poll, "no watcher-triggered muniwatch_poll run succeeded", lab)
        (event,) = lab.watcher_events()
        assert event["source_ids"] == [SOURCE_ID] and event["new_entries"] == 1

        es.indices.refresh(index=settings.index("items"))
        hits = es.search(index=settings.index("items"), query={"term": {"source_id": SOURCE_ID}})["hits"]
        urls = [hit["_source"]["url"] for hit in hits["hits"]]
        assert urls == [lab.feeds.base_url + page.path], "the poll enqueued the new entry as an item"
        assert lab.sink.first_with(page.path.encode(), WAIT_S) is not None, "the desk got its e-mail"
    finally:
        lab.__exit__()
