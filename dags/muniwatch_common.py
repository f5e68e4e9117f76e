"""Wiring shared by the muniwatch DAG files: assets, default arguments, settings, run time.

Not a DAG file (listed in ``.airflowignore``). Nothing here touches the network, the metadata DB
or a Variable at import time: Connections and Variables are read inside running tasks only.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from airflow.providers.smtp.notifications.smtp import SmtpNotifier
from airflow.sdk import Asset, XComArg
from airflow.sdk.exceptions import AirflowSkipException

from pipeline import airflow_settings, tasks
from pipeline.settings import Settings
from pipeline.tasks import ConfigPaths

LOGGER = logging.getLogger(__name__)

# A static start date: DAG runs never depend on when the file was parsed.
START_DATE = datetime(2025, 1, 1, tzinfo=UTC)
OWNER = "muniwatch-ops"

# poll → NEW_ITEMS → enrich → INDEXED_ITEMS → alerts (DESIGN, "Airflow").
NEW_ITEMS = Asset(name="muniwatch_new_items", uri="muniwatch://items/pending", group="muniwatch")
INDEXED_ITEMS = Asset(name="muniwatch_indexed_items", uri="muniwatch://items/indexed", group="muniwatch")

FETCH_POOL = airflow_settings.FETCH_POOL
OPS_EMAIL_TEMPLATE = "{{ var.value.get('muniwatch_ops_email', 'ops@muniwatch.localhost') }}"
MAIL_FROM_TEMPLATE = (
    "{{ var.value.get('muniwatch_mail_from', 'muniwatch airflow <airflow@muniwatch.localhost>') }}"
)


# The failure itself in the message (for source_health: each broken source and why), then the log.
OPS_EMAIL_BODY = (
    "<p>{{ ti.dag_id }}.{{ ti.task_id }} failed in run {{ ti.run_id }} (try {{ ti.try_number }}).</p>"
    "<pre>{{ exception | e }}</pre>"
    '<p><a href="{{ ti.log_url }}">Task log</a></p>'
)


def ops_notifier() -> SmtpNotifier:
    """Failure e-mail to the ops address (Variable ``muniwatch_ops_email``) via ``smtp_default``.

    Templated, so the Variable is read when a task fails, never while the file is parsed.
    """
    return SmtpNotifier(
        to=OPS_EMAIL_TEMPLATE,
        from_email=MAIL_FROM_TEMPLATE,
        smtp_conn_id=airflow_settings.SMTP_CONN_ID,
        subject="[muniwatch] {{ ti.dag_id }}.{{ ti.task_id }} failed (try {{ ti.try_number }})",
        html_content=OPS_EMAIL_BODY,
    )


def retry_delay() -> timedelta:
    """The first retry's delay (doubled for each next one): ``MUNIWATCH_RETRY_DELAY_S``, default 30.

    Read when the file is parsed; the distributed fault test shortens it, its waits are not physics.
    """
    raw = os.environ.get("MUNIWATCH_RETRY_DELAY_S", "30")
    try:
        seconds = float(raw)
    except ValueError:
        seconds = -1.0
    if seconds < 0:
        raise ValueError(f"MUNIWATCH_RETRY_DELAY_S={raw!r}: expected a number of seconds (0 or more)")
    return timedelta(seconds=seconds)


def default_args(**overrides: Any) -> dict[str, Any]:
    """Retries with exponential backoff (a float multiplier: True would mean 1.0, no backoff)."""
    args: dict[str, Any] = {
        "owner": OWNER,
        "retries": 3,
        "retry_delay": retry_delay(),
        "retry_exponential_backoff": 2.0,
        "max_retry_delay": timedelta(minutes=15),
        "execution_timeout": timedelta(minutes=30),
        "on_failure_callback": [ops_notifier()],
    }
    args.update(overrides)
    return args


def _connection(conn_id: str) -> airflow_settings.ConnectionFields | None:
    from airflow.sdk import Connection
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        return airflow_settings.ConnectionFields.from_object(Connection.get(conn_id))
    except AirflowNotFoundException:
        return None


def _variables() -> dict[str, str | None]:
    from airflow.sdk import Variable

    return {name: Variable.get(name, default=None) for name in airflow_settings.SETTING_VARIABLES}


# Client libraries that log every HTTP request at INFO: in a task log they bury the one line
# per source that matters (their warnings and errors still show).
CHATTY_LOGGERS = ("elastic_transport", "httpx", "httpcore")


def task_settings() -> tuple[Settings, ConfigPaths]:
    """Settings and config paths for a running task: Connections, Variables, then the environment."""
    for name in CHATTY_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    variables = _variables()
    settings = airflow_settings.settings_from_airflow(
        es=_connection(airflow_settings.ES_CONN_ID),
        smtp=_connection(airflow_settings.SMTP_CONN_ID),
        variables=variables,
        environ=os.environ,
    )
    paths = airflow_settings.config_paths_from_airflow(variables=variables, environ=os.environ)
    return settings, paths


def source_health_task(**context: Any) -> dict[str, object]:
    """The poll DAG's ``source_health`` task: fails when sources newly turned unhealthy (one ops
    e-mail per incident), is skipped while the same sources stay broken, else returns the check.

    Thresholds: ``MUNIWATCH_SOURCE_FAILURE_THRESHOLD`` / ``MUNIWATCH_SOURCE_STALE_FACTOR``, or the
    Variables of the same name in lower case. It runs when no poll task failed (trigger rule
    ``none_failed``): a broken configuration or Elasticsearch already fails, and e-mails, upstream.
    ``AirflowFailException`` skips the retries (they are for an unreachable Elasticsearch, not for
    a verdict); clearing the run repeats the same verdict.
    """
    from airflow.sdk import Variable
    from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

    settings, paths = task_settings()
    variables = {name: Variable.get(name, default=None) for name in tasks.HEALTH_VARIABLES}
    thresholds = tasks.health_thresholds(os.environ, variables)
    check = tasks.source_health(settings, paths, now=run_time(context), thresholds=thresholds)
    if check.new_incident:
        raise AirflowFailException(check.message())
    if check.alarms:
        raise AirflowSkipException(f"already reported to ops: {check.message()}")
    return check.to_dict()


def run_time(context: Mapping[str, Any]) -> datetime:
    """``now`` for the pipeline: when this run was due, so a re-run sees the same time."""
    dag_run = context["dag_run"]
    moment: datetime = dag_run.logical_date or dag_run.run_after
    return moment.astimezone(UTC)


def is_asset_triggered(context: Mapping[str, Any]) -> bool:
    """Started by an asset event (here: the priority-feed watcher), not by the clock or a person."""
    run_type = getattr(context["dag_run"], "run_type", "")
    # The task SDK's DagRunType is a str enum whose str() is "DagRunType.ASSET_TRIGGERED".
    return str(getattr(run_type, "value", run_type)).lower() == "asset_triggered"


def triggered_payloads(context: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Payloads of the trigger events (from an AssetWatcher) that started this run."""
    payloads: list[dict[str, Any]] = []
    events: Mapping[Any, Iterable[Any]] = context.get("triggering_asset_events") or {}
    for asset in events:
        for event in events[asset]:
            extra = getattr(event, "extra", None) or {}
            payload = extra.get("payload")
            if isinstance(payload, dict):
                payloads.append(payload)
    return payloads


def pulled(output: XComArg) -> Any:
    """An upstream task's output handed to a downstream ``@task``.

    Airflow passes the value the upstream task returned (an XCom) when the downstream task runs;
    at DAG-parse time the call only sees the ``XComArg``. The downstream task's parameter says
    what arrives; this says, in one place, that the XComArg stands for it.
    """
    return output


def announced(reports: list[dict[str, Any]], figure: str, downstream: str) -> dict[str, int]:
    """The sum of one figure over the upstream reports, for a task whose outlet starts
    ``downstream``; skipped (so the asset is not updated) when the sum is zero."""
    total = sum(int(report.get(figure, 0)) for report in reports)
    if total == 0:
        raise AirflowSkipException(f"no {figure.replace('_', ' ')}: {downstream} is not started")
    return {figure: total}
