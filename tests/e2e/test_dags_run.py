"""The DAGs run end to end: poll → (asset) → enrich → (asset) → alerts, with real servers.

Airflow's ``dag.test()`` runs each DAG in this process against a migrated SQLite metadata DB;
the tasks reach a fixture feed and pages on a loopback HTTP server, the real local Elasticsearch
(under this test's own index prefix) and a real SMTP server on loopback. Settings reach the tasks
the production way: Elasticsearch and SMTP through the ``elasticsearch_default`` /
``smtp_default`` Connections, the rest through ``MUNIWATCH_*`` variables.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from elasticsearch import Elasticsearch

from pipeline.search import links
from pipeline.settings import Settings, load_settings
from tests.e2e.conftest import DAGS_DIR, configure_airflow_environment, connection_json
from tests.support.http import LoopbackHTTPServer, Route
from tests.support.smtp import LoopbackSMTPServer

configure_airflow_environment()  # before Airflow is imported

from muniwatch_links import KibanaLink  # noqa: E402

pytestmark = pytest.mark.e2e

NOW = datetime(2025, 6, 11, 18, 0, tzinfo=UTC)
FIXTURES = "airflow"


@pytest.fixture()
def served_config(http_server: LoopbackHTTPServer, fixtures_dir: Path, tmp_path: Path) -> Path:
    """The fixture feed and pages on the loopback server; the config files pointing at it."""
    folder = fixtures_dir / FIXTURES
    base = http_server.base_url.encode()
    http_server.add(
        "/feeds/county-news.xml",
        Route(
            body=(folder / "county-news.xml").read_bytes().replace(b"{{BASE}}", base),
            content_type="application/rss+xml",
            etag='"feed-v1"',
        ),
    )
    for page in (folder / "pages").glob("*.html"):
        http_server.add(f"/news/{page.name}", Route(body=page.read_bytes()))
    config_dir = tmp_path / "config"
    config_dir.mkdir()
    for name in ("sources.yaml", "watchlists.yaml", "subscriptions.yaml"):
        text = (folder / name).read_text().replace("{{BASE}}", http_server.base_url)
        (config_dir / name).write_text(text)
    return config_dir


@pytest.fixture()
def airflow_env(
    airflow_db: Path,
    settings: Settings,
    served_config: Path,
    smtp_server: LoopbackSMTPServer,
    monkeypatch: pytest.MonkeyPatch,
) -> Settings:
    es_url = urlsplit(settings.es_url)
    monkeypatch.setenv(
        "AIRFLOW_CONN_ELASTICSEARCH_DEFAULT",
        connection_json(conn_type="elasticsearch", host=es_url.hostname, port=es_url.port or 9200),
    )
    # JSON booleans: the smtp provider reads these extras with bool(), so "false" would be true.
    monkeypatch.setenv(
        "AIRFLOW_CONN_SMTP_DEFAULT",
        connection_json(
            conn_type="smtp",
            host="127.0.0.1",
            port=smtp_server.port,
            extra={"disable_ssl": True, "disable_tls": True, "from_email": "airflow@muniwatch.test"},
        ),
    )
    for variable in ("MUNIWATCH_ES_URL", "MUNIWATCH_SMTP_URL"):  # the Connections must carry these
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("MUNIWATCH_INDEX_PREFIX", settings.index_prefix)
    monkeypatch.setenv("MUNIWATCH_CONFIG_DIR", str(served_config))
    monkeypatch.setenv("MUNIWATCH_ALLOW_HOSTS", "127.0.0.1,localhost")
    monkeypatch.setenv("MUNIWATCH_OUTBOX", str(settings.outbox))
    monkeypatch.setenv("MUNIWATCH_VAR_DIR", str(settings.var_dir))
    monkeypatch.setenv("MUNIWATCH_UNSUBSCRIBE_SECRET", "e2e-secret-not-for-production")
    monkeypatch.setenv("AIRFLOW_VAR_MUNIWATCH_OPS_EMAIL", "ops@muniwatch.test")
    return settings


def _dags() -> dict[str, Any]:
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAGS_DIR), bundle_path=DAGS_DIR)
    assert bag.import_errors == {}
    for dag in bag.dags.values():
        for task in dag.tasks:
            task.retries = 0  # a failure shows at once instead of after the backoff
    return bag.dags


def _task_states(run: Any) -> dict[str, str]:
    return {ti.task_id: str(ti.state) for ti in run.get_task_instances()}


def _xcom(run: Any, task_id: str, key: str) -> Any:
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        row = session.scalars(
            select(XComModel).where(
                XComModel.dag_id == run.dag_id,
                XComModel.run_id == run.run_id,
                XComModel.task_id == task_id,
                XComModel.key == key,
            )
        ).one()
        return XComModel.deserialize_value(row)


def _asset_events(name: str) -> list[dict[str, Any]]:
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        rows = session.scalars(
            select(AssetEvent)
            .join(AssetModel, AssetEvent.asset_id == AssetModel.id)
            .where(AssetModel.name == name)
        ).all()
        return [dict(row.extra or {}, source_dag_id=row.source_dag_id) for row in rows]


def test_poll_enrich_alerts_chain_indexes_the_article_and_emails_the_matching_desk(
    airflow_env: Settings,
    es: Elasticsearch,
    smtp_server: LoopbackSMTPServer,
    fixtures_dir: Path,
) -> None:
    expected = json.loads((fixtures_dir / FIXTURES / "expected.json").read_text())
    dags = _dags()
    events_before = len(_asset_events("muniwatch_new_items"))

    poll = dags["muniwatch_poll"].test(logical_date=NOW)
    states = _task_states(poll)
    assert str(poll.state) == "success", states
    assert states["announce_new_items"] == "success"
    new_item_events = _asset_events("muniwatch_new_items")
    assert len(new_item_events) == events_before + 1, "poll announced the new items to the enrich DAG"
    assert [e["source_dag_id"] for e in new_item_events[events_before:]] == ["muniwatch_poll"]

    enrich = dags["muniwatch_enrich"].test(logical_date=NOW + timedelta(minutes=1))
    states = _task_states(enrich)
    assert str(enrich.state) == "success", states
    assert states["announce_indexed_items"] == "success"
    es.indices.refresh(index=airflow_env.index("items"))
    hits = es.search(index=airflow_env.index("items"), query={"term": {"status": "indexed"}})["hits"]["hits"]
    titles = [h["_source"]["title"] for h in hits if h["_source"].get("relevant")]
    assert titles == [expected["indexed_title"]]
    assert hits[0]["_source"]["jurisdiction"]["state"] == expected["jurisdiction_state"]
    # The enrich report named the one story it wrote into, so "Open in Kibana" opens that story.
    report = _xcom(enrich, "enrich_and_index", "return_value")
    assert report["story_ids"] == sorted({h["_source"]["story_id"] for h in hits}), report
    (story_id,) = report["story_ids"]
    kibana = _xcom(enrich, "enrich_and_index", KibanaLink().xcom_key)
    assert kibana == links.story_link(load_settings(), story_id)

    alerts = dags["muniwatch_alerts"].test(logical_date=NOW + timedelta(minutes=2))
    assert str(alerts.state) == "success", _task_states(alerts)
    messages = smtp_server.wait_for(1)
    assert [to for _, tos in smtp_server.envelopes for to in tos] == expected["emails_to"]
    assert expected["subject_contains"] in str(messages[0]["Subject"])
    assert "One-Click" in str(messages[0]["List-Unsubscribe-Post"])

    # Nothing new on the next poll: no asset event, so enrich and alerts are not started again.
    again = dags["muniwatch_poll"].test(logical_date=NOW + timedelta(minutes=5))
    assert _task_states(again)["announce_new_items"] == "skipped"
    assert len(_asset_events("muniwatch_new_items")) == events_before + 1


def test_a_failed_task_emails_ops_through_smtp_default(
    airflow_env: Settings, served_config: Path, smtp_server: LoopbackSMTPServer
) -> None:
    (served_config / "sources.yaml").write_text("sources:\n  - {id: Bad Id, kind: rss}\n")
    dags = _dags()
    run = dags["muniwatch_poll"].test(logical_date=NOW)
    assert str(run.state) == "failed"
    assert _task_states(run)["prepare_and_plan"] == "failed"
    (message,) = smtp_server.wait_for(1)
    assert [to for _, tos in smtp_server.envelopes for to in tos] == ["ops@muniwatch.test"]
    assert str(message["Subject"]) == "[muniwatch] muniwatch_poll.prepare_and_plan failed (try 1)"
