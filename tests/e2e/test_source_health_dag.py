"""A broken source turns `muniwatch_poll` red once: its `source_health` task fails with the source
and the reason, ops get one e-mail, and the next run (same incident) skips instead of failing again.
Real Airflow (`dag.test()`), a feed answering 404 on loopback, the real Elasticsearch and SMTP."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from pipeline.settings import Settings
from tests.e2e.conftest import configure_airflow_environment
from tests.e2e.test_dags_run import NOW, _dags, _task_states, airflow_env, served_config  # noqa: F401
from tests.support.http import LoopbackHTTPServer, Route
from tests.support.smtp import LoopbackSMTPServer

configure_airflow_environment()  # before Airflow is imported

pytestmark = pytest.mark.e2e


def test_a_broken_source_fails_source_health_once_and_emails_ops_once(
    airflow_env: Settings,  # noqa: F811
    served_config: Path,  # noqa: F811
    http_server: LoopbackHTTPServer,
    smtp_server: LoopbackSMTPServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    http_server.routes["/feeds/county-news.xml"] = Route(status=404, body=b"gone", content_type="text/plain")
    monkeypatch.setenv("MUNIWATCH_SOURCE_FAILURE_THRESHOLD", "1")
    dags = _dags()

    first = dags["muniwatch_poll"].test(logical_date=NOW)
    states = _task_states(first)
    assert states["poll_group"] == "success", "one bad source does not fail its poll task"
    assert states["source_health"] == "failed" and str(first.state) == "failed", states
    (message,) = smtp_server.wait_for(1)
    assert str(message["Subject"]) == "[muniwatch] muniwatch_poll.source_health failed (try 1)"
    body = next(p for p in message.walk() if p.get_content_type() == "text/html").get_content()
    assert (
        "1 of 1 sources unhealthy" in body
        and "valley-courier (new): 1 failed polls in a row (HTTP 404)" in body
    )

    second = dags["muniwatch_poll"].test(logical_date=NOW + timedelta(days=1))
    assert _task_states(second)["source_health"] == "skipped", "same incident: reported already"
    assert str(second.state) == "success"
    assert len(smtp_server.envelopes) == 1, "one e-mail per incident, not one per poll"
