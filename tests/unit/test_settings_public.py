"""MUNIWATCH_PUBLIC_URL, MUNIWATCH_MAIL_FROM and MUNIWATCH_DEPLOYMENT: local defaults that work, and a
deployment that refuses to mail links nobody outside this machine can follow."""

from __future__ import annotations

import pytest

from pipeline.settings import DEFAULT_PUBLIC_URL, SettingsError, check_public_settings, load_settings

pytestmark = pytest.mark.unit

GOOD = {
    "MUNIWATCH_DEPLOYMENT": "production",
    "MUNIWATCH_PUBLIC_URL": "https://alerts.newsroom.example/",
    "MUNIWATCH_MAIL_FROM": "muniwatch <alerts@newsroom.example>",
}


def test_local_defaults_point_at_the_local_serve() -> None:
    settings = load_settings({})
    assert settings.public_url == DEFAULT_PUBLIC_URL == "http://127.0.0.1:8090"
    assert settings.unsubscribe_url == "http://127.0.0.1:8090/unsubscribe"
    assert settings.digest_url == "http://127.0.0.1:8090/digest"
    check_public_settings(settings)  # local: nothing to refuse


def test_production_with_real_values_passes_and_links_follow_the_public_url() -> None:
    settings = load_settings(GOOD)
    check_public_settings(settings)
    assert settings.unsubscribe_url == "https://alerts.newsroom.example/unsubscribe"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"MUNIWATCH_PUBLIC_URL": ""}, "MUNIWATCH_PUBLIC_URL='http://127.0.0.1:8090' is a local address"),
        ({"MUNIWATCH_PUBLIC_URL": "https://localhost:8090"}, "is a local address"),
        ({"MUNIWATCH_PUBLIC_URL": "https://muniwatch.localhost"}, "is a local address"),
        ({"MUNIWATCH_PUBLIC_URL": "http://alerts.newsroom.example"}, "must be https in production"),
        ({"MUNIWATCH_MAIL_FROM": ""}, "MUNIWATCH_MAIL_FROM='muniwatch alerts <alerts@muniwatch.localhost>'"),
        ({"MUNIWATCH_MAIL_FROM": "alerts@localhost"}, "MUNIWATCH_MAIL_FROM"),
        ({"MUNIWATCH_UNSUBSCRIBE_URL": "http://127.0.0.1:8080/muniwatch/unsubscribe"}, "deprecated"),
    ],
)
def test_production_refuses_defaults_and_local_links(changes: dict[str, str], message: str) -> None:
    settings = load_settings({**GOOD, **changes})
    with pytest.raises(SettingsError, match=message) as caught:
        check_public_settings(settings)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"MUNIWATCH_PUBLIC_URL": "alerts.newsroom.example"}, "MUNIWATCH_PUBLIC_URL"),
        ({"MUNIWATCH_PUBLIC_URL": "https://x.example/?a=1"}, "without query"),
        ({"MUNIWATCH_DEPLOYMENT": "prod"}, "MUNIWATCH_DEPLOYMENT='prod' must be one of local, production"),
    ],
)
def test_malformed_values_are_refused_when_read(environ: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        load_settings(environ)


def test_the_deprecated_unsubscribe_url_still_overrides_locally() -> None:
    settings = load_settings({"MUNIWATCH_UNSUBSCRIBE_URL": "https://ops.example/muniwatch/unsubscribe"})
    assert settings.unsubscribe_url == "https://ops.example/muniwatch/unsubscribe"
    assert settings.digest_url == "http://127.0.0.1:8090/digest"


def test_serve_and_alerts_refuse_to_start_with_local_links_in_production(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from datetime import UTC, datetime

    from elasticsearch import Elasticsearch

    from pipeline.alerts import run_alerts
    from pipeline.cli import main

    monkeypatch.setenv("MUNIWATCH_DEPLOYMENT", "production")
    for name in ("MUNIWATCH_PUBLIC_URL", "MUNIWATCH_MAIL_FROM", "MUNIWATCH_UNSUBSCRIBE_URL"):
        monkeypatch.delenv(name, raising=False)
    assert main(["serve", "--port", "9"]) == 2
    error = capsys.readouterr().err
    assert error.startswith("settings error: MUNIWATCH_PUBLIC_URL=") and error.count("\n") == 1
    # alerts stop before their first request (this client points at a closed port)
    closed = Elasticsearch("http://127.0.0.1:9")
    with pytest.raises(SettingsError, match="MUNIWATCH_PUBLIC_URL"):
        run_alerts(closed, load_settings(), now=datetime(2025, 6, 9, tzinfo=UTC))


def test_inside_airflow_the_variables_set_them_too() -> None:
    from pipeline.airflow_settings import settings_from_airflow

    settings = settings_from_airflow(
        variables={"muniwatch_public_url": "https://alerts.newsroom.example",
                   "muniwatch_deployment": "production", "muniwatch_mail_from": "alerts@newsroom.example"},
        environ={},
    )  # fmt: skip
    assert settings.unsubscribe_url == "https://alerts.newsroom.example/unsubscribe"
    check_public_settings(settings)
