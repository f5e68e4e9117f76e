"""
### muniwatch_maintenance — daily health report, silent feeds, replays, stale deliveries

Once a day (03:30 UTC) `maintenance` writes the per-source health report (last success, last
error, items per poll), flags feeds that have been silent for much longer than their usual
cadence, replays quarantined items whose cause may have gone away, and retries deliveries left
*pending* by a crash. Then `resume_pending_items` updates `muniwatch_new_items` if items are still
waiting for enrichment (for example after a replay), so `muniwatch_enrich` picks them up.

The results are on the *muniwatch status* page (Airflow menu) and in this task's return value.

**When it fails**
- Usually Elasticsearch is unreachable; the log says which request failed. Nothing here is
  urgent: the next day's run does the same work again, and every step is safe to repeat.
- A silent or failing source is *reported* here, not a failure: the `source_health` task of
  `muniwatch_poll` is the one that fails (once per incident). Look at *muniwatch status*.
"""

from __future__ import annotations

from airflow.sdk import CronTriggerTimetable, dag, task
from airflow.sdk.exceptions import AirflowSkipException
from muniwatch_common import NEW_ITEMS, START_DATE, default_args, pulled, run_time, task_settings

from pipeline import tasks


@dag(
    dag_id="muniwatch_maintenance",
    schedule=CronTriggerTimetable("30 3 * * *", timezone="UTC"),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=default_args(),
    tags=["muniwatch", "maintenance"],
    doc_md=__doc__,
)
def muniwatch_maintenance() -> None:
    @task
    def maintenance(**context: object) -> dict[str, object]:
        settings, paths = task_settings()
        return tasks.maintenance(settings, paths, now=run_time(context)).to_dict()  # the XCom edge

    @task(outlets=[NEW_ITEMS])
    def resume_pending_items(report: dict[str, object]) -> dict[str, int]:
        settings, _ = task_settings()
        pending = tasks.pending_items(settings)
        if pending == 0:
            raise AirflowSkipException("no item is waiting for enrichment")
        return {"pending": pending}

    resume_pending_items(pulled(maintenance()))


muniwatch_maintenance()
