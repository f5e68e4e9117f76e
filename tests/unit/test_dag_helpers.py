"""The DAGs' small decisions: was this run started by the watcher, what did it ask for, how many."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from tests.e2e.conftest import configure_airflow_environment

configure_airflow_environment()  # before Airflow is imported

from airflow.sdk.api.datamodels._generated import DagRunType  # noqa: E402
from muniwatch_common import (  # noqa: E402
    INDEXED_KEYS,
    NEW_ITEM_KEYS,
    is_asset_triggered,
    report_count,
    run_time,
    triggered_payloads,
)

pytestmark = pytest.mark.unit


def test_asset_triggered_runs_are_told_apart_from_scheduled_and_manual_ones() -> None:
    assert is_asset_triggered({"dag_run": SimpleNamespace(run_type=DagRunType.ASSET_TRIGGERED)})
    assert is_asset_triggered({"dag_run": SimpleNamespace(run_type="asset_triggered")})
    assert not is_asset_triggered({"dag_run": SimpleNamespace(run_type=DagRunType.SCHEDULED)})
    assert not is_asset_triggered({"dag_run": SimpleNamespace(run_type=DagRunType.MANUAL)})


def test_watcher_payloads_name_the_sources_to_poll() -> None:
    from_watcher = SimpleNamespace(extra={"from_trigger": True, "payload": {"source_ids": ["city-hall"]}})
    from_a_task = SimpleNamespace(extra={})
    context = {"triggering_asset_events": {"muniwatch_priority_feeds": [from_watcher, from_a_task]}}
    assert triggered_payloads(context) == [{"source_ids": ["city-hall"]}]
    assert triggered_payloads({}) == []


def test_now_is_when_the_run_was_due() -> None:
    due = datetime(2025, 6, 11, 18, 5, tzinfo=UTC)
    assert run_time({"dag_run": SimpleNamespace(logical_date=due, run_after=datetime.now(UTC))}) == due
    # Asset-triggered runs have no logical date: the moment the event queued the run.
    assert run_time({"dag_run": SimpleNamespace(logical_date=None, run_after=due)}) == due


@pytest.mark.parametrize(
    ("report", "keys", "count"),
    [
        ({"new_items": 3, "sources": {"a": {"new_items": 3}}}, NEW_ITEM_KEYS, 3),
        ({"sources": {"a": {"new_items": 2}, "b": {"new_items": 1}}}, NEW_ITEM_KEYS, 3),
        ({"indexed": 0, "failed": 2}, INDEXED_KEYS, 0),
        ({"indexed": 5}, INDEXED_KEYS, 5),
        (None, INDEXED_KEYS, 0),
    ],
)
def test_counts_are_read_from_task_reports(
    report: dict[str, object] | None, keys: tuple[str, ...], count: int
) -> None:
    assert report_count(report, *keys) == count
