"""The DAG files import cleanly and are wired as DESIGN says: ids, asset chain, retries, pools."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import DAGS_DIR, configure_airflow_environment

configure_airflow_environment()  # before Airflow is imported

pytestmark = pytest.mark.unit

DAG_IDS = {"muniwatch_poll", "muniwatch_enrich", "muniwatch_alerts", "muniwatch_maintenance"}


@pytest.fixture(scope="module")
def dagbag() -> Any:
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS_DIR), bundle_path=Path(DAGS_DIR))


def assets_of(condition: Any) -> list[Any]:
    """The assets in a schedule condition (an Asset, or AssetAll/AssetAny of them)."""
    if hasattr(condition, "objects"):
        return [a for o in condition.objects for a in assets_of(o)]
    return [condition]


def asset_names(condition: Any) -> list[str]:
    return [a.name for a in assets_of(condition)]


def test_dag_files_import_without_errors(dagbag: Any) -> None:
    assert dagbag.import_errors == {}
    assert set(dagbag.dags) == DAG_IDS


def test_dag_files_stay_short_and_import_only_the_sdk_and_pipeline_at_top() -> None:
    for path in DAGS_DIR.glob("muniwatch_*.py"):
        lines = path.read_text().splitlines()
        if path.name != "muniwatch_common.py":
            assert len(lines) <= 110, f"{path.name} has {len(lines)} lines: a DAG file is wiring"
        top_level_imports = [line for line in lines if line.startswith(("import ", "from "))]
        for line in top_level_imports:
            module = line.split()[1]
            allowed = (
                module in {"__future__", "os", "logging", "datetime", "typing", "collections.abc"}
                or module.startswith(("airflow.sdk", "pipeline", "muniwatch_"))
                or module == "airflow.providers.smtp.notifications.smtp"  # the failure notifier
            )
            assert allowed, f"{path.name}: top-level {line!r}"
        if path.name != "muniwatch_common.py":
            assert "Variable." not in path.read_text(), "Variables are read in tasks (muniwatch_common)"


def test_every_dag_is_documented_owned_tagged_and_does_not_catch_up(dagbag: Any) -> None:
    for dag_id in DAG_IDS:
        dag = dagbag.dags[dag_id]
        assert dag.catchup is False
        assert dag.start_date is not None and dag.start_date.year == 2025, "a static start date"
        assert "muniwatch" in dag.tags
        assert dag.doc_md and "When it fails" in dag.doc_md, f"{dag_id}: doc_md tells ops what to do"
        assert dag.max_active_runs == 1
        for task in dag.tasks:
            assert task.owner == "muniwatch-ops"
            assert task.retries >= 2
            assert task.retry_exponential_backoff == 2.0, "a float multiplier; True would mean no backoff"
            assert task.max_retry_delay == timedelta(minutes=15)
            notifiers = [type(cb).__name__ for cb in task.on_failure_callback or []]
            assert notifiers == ["SmtpNotifier"], f"{dag_id}.{task.task_id} e-mails ops on failure"


def test_assets_chain_poll_to_enrich_to_alerts(dagbag: Any) -> None:
    from airflow.sdk import Asset, AssetOrTimeSchedule

    poll, enrich = dagbag.dags["muniwatch_poll"], dagbag.dags["muniwatch_enrich"]
    alerts, maintenance = dagbag.dags["muniwatch_alerts"], dagbag.dags["muniwatch_maintenance"]

    def outlet_names(dag: Any) -> set[str]:
        return {o.name for t in dag.tasks for o in t.outlets if isinstance(o, Asset)}

    # Record items (287(g) lists, Legistar) are indexed during the poll, which starts alerts itself.
    assert outlet_names(poll) == {"muniwatch_new_items", "muniwatch_indexed_items"}
    assert outlet_names(enrich) == {"muniwatch_indexed_items"}
    assert outlet_names(maintenance) == {"muniwatch_new_items"}
    assert outlet_names(alerts) == set()

    assert asset_names(enrich.timetable.asset_condition) == ["muniwatch_new_items"]
    assert isinstance(alerts.timetable, AssetOrTimeSchedule)
    assert asset_names(alerts.timetable.asset_condition) == ["muniwatch_indexed_items"]
    assert alerts.timetable.timetable.expression == "0 * * * *"
    assert maintenance.timetable.expression == "30 3 * * *"


def test_poll_is_timed_and_event_driven_through_a_priority_feed_watcher(dagbag: Any) -> None:
    from airflow.sdk import AssetOrTimeSchedule
    from muniwatch_triggers import PriorityFeedTrigger

    poll = dagbag.dags["muniwatch_poll"]
    assert isinstance(poll.timetable, AssetOrTimeSchedule)
    assert poll.timetable.timetable.expression == "*/5 * * * *"
    assert poll.timetable.timetable.run_immediately is True
    (watched,) = assets_of(poll.timetable.asset_condition)
    (watcher,) = watched.watchers
    assert isinstance(watcher.trigger, PriorityFeedTrigger)
    classpath, kwargs = watcher.trigger.serialize()
    assert classpath == "muniwatch_triggers.PriorityFeedTrigger"
    assert kwargs["sources_file"].endswith("sources.yaml")


def test_polling_is_one_mapped_task_per_source_group_bounded_by_the_fetch_pool(dagbag: Any) -> None:
    poll = dagbag.dags["muniwatch_poll"]
    poll_group = poll.get_task("poll_group")
    assert type(poll_group).__name__.endswith("MappedOperator")
    assert poll_group.pool == "muniwatch_fetch"
    assert poll.get_task("prepare_and_plan").task_id in poll_group.upstream_task_ids
    assert "poll_group" in poll.get_task("announce_new_items").upstream_task_ids
    # Record sources index their items during the poll, so the poll also starts the alerts step.
    assert [o.name for o in poll.get_task("announce_indexed_records").outlets] == ["muniwatch_indexed_items"]


def test_indexing_task_has_the_open_in_kibana_link(dagbag: Any) -> None:
    task = dagbag.dags["muniwatch_enrich"].get_task("enrich_and_index")
    assert [link.name for link in task.operator_extra_links] == ["Open in Kibana"]


def test_dags_serialize_for_the_scheduler(dagbag: Any) -> None:
    from airflow.serialization.serialized_objects import DagSerialization

    for dag in dagbag.dags.values():
        data = DagSerialization.to_dict(dag)
        assert data["dag"]["dag_id"] == dag.dag_id


def test_the_fetch_pool_is_configured() -> None:
    import json

    from tests.e2e.conftest import POOLS_FILE

    pools = json.loads(POOLS_FILE.read_text())
    assert pools["muniwatch_fetch"]["slots"] >= 1
