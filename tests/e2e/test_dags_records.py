"""The record source kinds inside Airflow: the muniwatch_poll DAG polls a 287(g) workbook and a
Legistar client like any feed (dag.test(), SQLite metadata DB), and muniwatch_alerts e-mails the
changes through smtp_default: a new list row, a new matter, and the matter's passage, once."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from elasticsearch import Elasticsearch

from pipeline.settings import REPO_ROOT, Settings
from tests.e2e.conftest import DAGS_DIR, configure_airflow_environment, connection_json
from tests.support.fake_legistar import FakeLegistar
from tests.support.http import LoopbackHTTPServer, Route
from tests.support.smtp import LoopbackSMTPServer
from tests.support.xlsx import xlsx_bytes

configure_airflow_environment()  # before Airflow is imported

pytestmark = pytest.mark.e2e

NOW = datetime(2025, 6, 4, 8, 0, tzinfo=UTC)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
HEADER = ["STATE", "LAW ENFORCEMENT AGENCY", "TYPE", "COUNTY", "SUPPORT TYPE", "SIGNED", "MOA"]
ROW = ["TEXAS", "Harris County Sheriff's Office", "County", "Harris County", "Jail Enforcement Model",
       date(2025, 1, 10), "link"]  # fmt: skip
POLK = [
    "FLORIDA",
    "Polk County Sheriff's Office",
    "County",
    "Polk County",
    "Task Force Model",
    date(2025, 6, 2),
    "link",
]
TITLE = "Resolution approving an agreement with U.S. Immigration and Customs Enforcement for the City jail"


@pytest.fixture()
def legistar() -> Iterator[FakeLegistar]:
    fake = FakeLegistar(client="glendaleca")
    fake.add_matter(1, "Approval of minutes", modified="2025-06-02T10:00:00")
    fake.add_matter(2, TITLE, modified="2025-06-03T16:30:00")
    yield fake
    fake.close()


@pytest.fixture()
def records_env(
    airflow_db: Path,
    settings: Settings,
    http_server: LoopbackHTTPServer,
    legistar: FakeLegistar,
    smtp_server: LoopbackSMTPServer,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> Settings:
    http_server.add("/participatingAgencies.xlsx", Route(body=xlsx_bytes([HEADER, ROW]), content_type=XLSX))
    config = tmp_path / "config"
    config.mkdir()
    (config / "sources.yaml").write_text(
        "sources:\n"
        "  - {id: ice-287g-participating, kind: 287g_list, list: participating,"
        f" url: '{http_server.url('/participatingAgencies.xlsx')}'}}\n"
        "  - {id: glendale-council, kind: legistar, client: glendaleca,"
        f" jurisdiction: {{name: Glendale, type: city, state: CA}}, url: '{legistar.base}'}}\n"
    )
    shutil.copy(REPO_ROOT / "config" / "watchlists.yaml", config / "watchlists.yaml")
    (config / "subscriptions.yaml").write_text(
        "subscriptions:\n"
        "  - {id: ca-desk, email: ca-desk@example.org, filter: {states: [CA]}}\n"
        "  - {id: lists, email: lists@example.org, filter: {source_kinds: [287g_list]}}\n"
    )
    es_url = urlsplit(settings.es_url)
    monkeypatch.setenv(
        "AIRFLOW_CONN_ELASTICSEARCH_DEFAULT",
        connection_json(conn_type="elasticsearch", host=es_url.hostname, port=es_url.port or 9200),
    )
    monkeypatch.setenv(
        "AIRFLOW_CONN_SMTP_DEFAULT",
        connection_json(
            conn_type="smtp",
            host="127.0.0.1",
            port=smtp_server.port,
            extra={"disable_ssl": True, "disable_tls": True, "from_email": "airflow@muniwatch.test"},
        ),
    )
    for variable in ("MUNIWATCH_ES_URL", "MUNIWATCH_SMTP_URL"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("MUNIWATCH_INDEX_PREFIX", settings.index_prefix)
    monkeypatch.setenv("MUNIWATCH_CONFIG_DIR", str(config))
    monkeypatch.setenv("MUNIWATCH_ALLOW_HOSTS", "127.0.0.1,localhost")
    monkeypatch.setenv("MUNIWATCH_OUTBOX", str(settings.outbox))
    monkeypatch.setenv("MUNIWATCH_VAR_DIR", str(settings.var_dir))
    monkeypatch.setenv("MUNIWATCH_UNSUBSCRIBE_SECRET", "e2e-secret-not-for-production")
    return settings


def _dags() -> dict[str, Any]:
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAGS_DIR), bundle_path=DAGS_DIR)
    assert bag.import_errors == {}
    for dag in bag.dags.values():
        for task in dag.tasks:
            task.retries = 0
    return bag.dags


def _record_items(es: Elasticsearch, settings: Settings) -> list[dict[str, Any]]:
    es.indices.refresh(index=settings.index("items"))
    query = {"terms": {"source_kind": ["287g_list", "legistar"]}}
    return [h["_source"] for h in es.search(index=settings.index("items"), query=query)["hits"]["hits"]]


def _recipients(smtp_server: LoopbackSMTPServer) -> list[str]:
    return sorted(to for _, tos in smtp_server.envelopes for to in tos)


def test_the_poll_dag_polls_records_and_alerts_send_each_change_once(
    records_env: Settings,
    es: Elasticsearch,
    http_server: LoopbackHTTPServer,
    legistar: FakeLegistar,
    smtp_server: LoopbackSMTPServer,
) -> None:
    dags = _dags()
    poll = dags["muniwatch_poll"].test(logical_date=NOW)
    assert str(poll.state) == "success"
    # Record items are indexed by the poll: it announces them itself (the asset that starts alerts).
    states = {ti.task_id: str(ti.state) for ti in poll.get_task_instances()}
    assert states["announce_indexed_records"] == "success"
    (matter,) = _record_items(es, records_env)  # the list's first version is the baseline
    assert matter["record"]["matter_status"] == "Introduced"
    assert str(dags["muniwatch_alerts"].test(logical_date=NOW + timedelta(minutes=2)).state) == "success"
    smtp_server.wait_for(1)
    assert _recipients(smtp_server) == ["ca-desk@example.org"]

    http_server.add(
        "/participatingAgencies.xlsx", Route(body=xlsx_bytes([HEADER, POLK, ROW]), content_type=XLSX)
    )
    legistar.update(
        2, modified="2025-06-10T22:00:00", MatterStatusName="Adopted", MatterPassedDate="2025-06-10T00:00:00"
    )
    later = NOW + timedelta(days=7)
    assert str(dags["muniwatch_poll"].test(logical_date=later).state) == "success"
    items = _record_items(es, records_env)
    assert sorted(i["record"]["change"] for i in items) == ["added", "status_changed"]
    assert str(dags["muniwatch_alerts"].test(logical_date=later + timedelta(minutes=2)).state) == "success"
    smtp_server.wait_for(3)
    assert _recipients(smtp_server) == ["ca-desk@example.org", "ca-desk@example.org", "lists@example.org"]
