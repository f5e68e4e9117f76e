"""
### muniwatch_alerts — e-mail reporters about newly indexed stories

Runs whenever `muniwatch_enrich` updates the asset `muniwatch_indexed_items`, and every hour on the
hour: daily digests are due at each subscription's own hour in its own time zone, so the clock
trigger is hourly and `send_alerts` sends only the digests that are due (once: the delivery ledger
remembers what was sent). Immediate subscriptions get one message per new matching story.

Each message is recorded *pending* before it is sent and *sent* after, so a crash or a retry
never sends a story twice to the same subscription; stale pending deliveries are retried by
`muniwatch_maintenance`.

**When it fails**
- The SMTP server refused or was unreachable (`smtp_default` connection, or `MUNIWATCH_SMTP_URL`):
  the log names the server and its answer. The deliveries stay pending; the task retries with
  backoff, and clearing it later sends what is still pending.
- Unsubscribes arrive through *muniwatch status* → `/muniwatch/unsubscribe` (one-click, RFC 8058).
"""

from __future__ import annotations

from airflow.sdk import AssetOrTimeSchedule, CronTriggerTimetable, dag, task
from muniwatch_common import INDEXED_ITEMS, START_DATE, default_args, run_time, task_settings

from pipeline import tasks


@dag(
    dag_id="muniwatch_alerts",
    schedule=AssetOrTimeSchedule(
        timetable=CronTriggerTimetable("0 * * * *", timezone="UTC"), assets=INDEXED_ITEMS
    ),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=default_args(),
    tags=["muniwatch", "alerts"],
    doc_md=__doc__,
)
def muniwatch_alerts() -> None:
    @task
    def send_alerts(**context: object) -> dict[str, object]:
        settings, _ = task_settings()
        return tasks.alerts(settings, now=run_time(context), digests=True).to_dict()  # the XCom edge

    send_alerts()


muniwatch_alerts()
