"""
### muniwatch_poll — poll the sources, enqueue new matching entries

Every 5 minutes (and at once when the triggerer sees news on a `priority: true` feed, checked every
`MUNIWATCH_PRIORITY_CHECK_INTERVAL_S`, 15 s by default) this DAG polls the sources that are due, one
mapped task per source `group`, as many at a time as the `muniwatch_fetch` pool allows. New matching
entries become *pending* items; `announce_new_items` then updates `muniwatch_new_items`, which starts
`muniwatch_enrich`. Record sources (287(g) lists, Legistar) index their items in the poll, and
`announce_indexed_records` starts `muniwatch_alerts`. Nothing new: both are skipped. Retries back off
exponentially (30 s × 2ⁿ); ops get an e-mail on the final failure.

**When it fails**
- `prepare_and_plan`: Elasticsearch is down or a config file is invalid (the log names where).
- `poll_group`: Elasticsearch or the code broke. A single bad source never fails it: it is backed
  off, logged in one line (source, reason) and shown in *muniwatch status*.
- `source_health`: sources broke (its log says which and why); one e-mail per incident (README, Ops).
"""

from __future__ import annotations

import os
from typing import Any

from airflow.sdk import Asset, AssetOrTimeSchedule, AssetWatcher, CronTriggerTimetable, dag, task
from muniwatch_common import (
    FETCH_POOL,
    INDEXED_ITEMS,
    NEW_ITEMS,
    START_DATE,
    announced,
    default_args,
    is_asset_triggered,
    pulled,
    run_time,
    source_health_task,
    task_settings,
    triggered_payloads,
)
from muniwatch_triggers import PriorityFeedTrigger

from pipeline import airflow_settings, tasks

PRIORITY_FEEDS = Asset(
    name="muniwatch_priority_feeds",
    uri="muniwatch://sources/priority",
    group="muniwatch",
    watchers=[
        AssetWatcher(
            name="muniwatch_priority_feed_watcher",
            trigger=PriorityFeedTrigger(
                # The path only (environment, no Variable, no I/O): the triggerer reads the file.
                sources_file=str(airflow_settings.config_paths_from_airflow(environ=os.environ).sources),
                # No check_interval: read before each check (env, Variable, 15 s; see the trigger).
            ),
        )
    ],
)


@dag(
    dag_id="muniwatch_poll",
    schedule=AssetOrTimeSchedule(
        # run_immediately: a fresh installation polls at once instead of waiting for the slot.
        timetable=CronTriggerTimetable("*/5 * * * *", timezone="UTC", run_immediately=True),
        assets=PRIORITY_FEEDS,
    ),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=default_args(),
    tags=["muniwatch", "ingest"],
    doc_md=__doc__,
)
def muniwatch_poll() -> None:
    @task
    def prepare_and_plan(**context: object) -> list[list[str]]:
        """Indices and subscriptions in place; the source groups to poll in this run."""
        settings, paths = task_settings()
        tasks.prepare(settings, paths)
        if is_asset_triggered(context):
            wanted = sorted({s for p in triggered_payloads(context) for s in p.get("source_ids", [])})
            return [wanted] if wanted else []
        return tasks.source_groups(paths)

    @task(pool=FETCH_POOL, map_index_template="{{ task.op_kwargs['source_ids'] | join(', ') }}")
    def poll_group(source_ids: list[str], **context: object) -> dict[str, object]:
        settings, paths = task_settings()
        # A run started by the priority watcher polls those sources now, whatever their interval.
        report = tasks.poll(
            settings, paths, now=run_time(context), source_ids=source_ids, force=is_asset_triggered(context)
        )
        return report.to_dict()  # the XCom edge: PollReport.to_dict()

    @task(outlets=[NEW_ITEMS])
    def announce_new_items(reports: list[dict[str, Any]]) -> dict[str, int]:
        return announced(reports, "new_items", "muniwatch_enrich")

    @task(outlets=[INDEXED_ITEMS])
    def announce_indexed_records(reports: list[dict[str, Any]]) -> dict[str, int]:
        # Record items (287(g) list changes, Legistar matters) are indexed by the poll itself.
        return announced(reports, "indexed_records", "muniwatch_alerts")

    health = task(task_id="source_health", trigger_rule="none_failed")(source_health_task)
    polled = poll_group.expand(source_ids=prepare_and_plan())
    announce_new_items(pulled(polled))
    announce_indexed_records(pulled(polled))
    polled >> health()


muniwatch_poll()
