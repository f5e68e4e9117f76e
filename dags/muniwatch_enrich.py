"""
### muniwatch_enrich — fetch, extract, tag, cluster and index the pending items

Runs whenever `muniwatch_poll` updates the asset `muniwatch_new_items` (and when the daily
maintenance finds items still pending). `enrich_and_index` takes the pending items in batches:
fetches each page with the SSRF-safe client, extracts the text (trafilatura), re-matches the
watchlists on the full text, tags jurisdiction / stance / event, groups the item into a story and
writes it to Elasticsearch as *indexed*. The **Open in Kibana** button on that task shows what it
indexed. When at least one item was indexed, `announce_indexed_items` updates
`muniwatch_indexed_items`, which starts `muniwatch_alerts`.

**When it fails**
- A page that cannot be fetched or extracted does not fail the task: the item is marked failed
  and quarantined with its reason (see *muniwatch status* → quarantine, and `muniwatch replay`).
- A failed task means Elasticsearch was unreachable or the code broke: items stay *pending*, so
  clearing the task (or the next run) picks them up again; nothing is indexed twice.
"""

from __future__ import annotations

from airflow.sdk import dag, get_current_context, task
from airflow.sdk.definitions.xcom_arg import PlainXComArg
from airflow.sdk.exceptions import AirflowSkipException
from muniwatch_common import (
    INDEXED_ITEMS,
    NEW_ITEMS,
    START_DATE,
    default_args,
    pulled,
    run_time,
    task_settings,
)
from muniwatch_links import REPORT_ATTRIBUTE, SETTINGS_ATTRIBUTE, KibanaLink

from pipeline import tasks

MAX_ITEMS_PER_RUN = 2000


@dag(
    dag_id="muniwatch_enrich",
    schedule=[NEW_ITEMS],
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=default_args(),
    tags=["muniwatch", "ingest"],
    doc_md=__doc__,
)
def muniwatch_enrich() -> None:
    @task
    def enrich_and_index() -> dict[str, object]:
        context = get_current_context()
        settings, paths = task_settings()
        report = tasks.enrich(settings, paths, now=run_time(context), max_items=MAX_ITEMS_PER_RUN)
        # Read by KibanaLink when the task finishes (same process).
        setattr(context["task"], SETTINGS_ATTRIBUTE, settings)
        setattr(context["task"], REPORT_ATTRIBUTE, report)
        return report.to_dict()  # the XCom edge: EnrichReport.to_dict()

    @task(outlets=[INDEXED_ITEMS])
    def announce_indexed_items(report: dict[str, object]) -> dict[str, object]:
        if report["indexed"] == 0:
            raise AirflowSkipException("nothing newly indexed: muniwatch_alerts is not started")
        return {"indexed": report["indexed"]}

    indexed = enrich_and_index()
    # A @task call gives its output (a PlainXComArg); its operator is the task the button goes on.
    assert isinstance(indexed, PlainXComArg)
    indexed.operator.operator_extra_links = [KibanaLink()]
    announce_indexed_items(pulled(indexed))


muniwatch_enrich()
