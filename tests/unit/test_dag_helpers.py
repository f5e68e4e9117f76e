"""The DAGs' small decisions: was this run started by the watcher, what did it ask for, when is now."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from tests.e2e.conftest import configure_airflow_environment

configure_airflow_environment()  # before Airflow is imported

from airflow.sdk.api.datamodels._generated import DagRunType  # noqa: E402
from muniwatch_common import is_asset_triggered, run_time, triggered_payloads  # noqa: E402

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


def test_the_first_retry_waits_30_s_unless_the_stack_says_otherwise(monkeypatch: pytest.MonkeyPatch) -> None:
    from datetime import timedelta

    from muniwatch_common import retry_delay

    monkeypatch.delenv("MUNIWATCH_RETRY_DELAY_S", raising=False)
    assert retry_delay() == timedelta(seconds=30)
    monkeypatch.setenv("MUNIWATCH_RETRY_DELAY_S", "5")
    assert retry_delay() == timedelta(seconds=5)
    for bad in ("soon", "-1"):
        monkeypatch.setenv("MUNIWATCH_RETRY_DELAY_S", bad)
        with pytest.raises(ValueError, match=f"MUNIWATCH_RETRY_DELAY_S='{bad}'"):
            retry_delay()
