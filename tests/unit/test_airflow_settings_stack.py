"""The local stack hands Airflow the settings DESIGN asks for (`make up`), without starting it."""

from __future__ import annotations

import json

import pytest

from pipeline.airflow_settings import ConnectionFields, settings_from_airflow
from pipeline.local import stack
from pipeline.settings import REPO_ROOT, Settings

pytestmark = pytest.mark.unit


@pytest.fixture()
def env(offline_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    for name in ("MUNIWATCH_INDEX_PREFIX", "MUNIWATCH_ALLOW_HOSTS", "MUNIWATCH_CONFIG_DIR"):
        monkeypatch.delenv(name, raising=False)
    return stack.airflow_environment(offline_settings, demo=True)


def test_airflow_runs_the_repository_dags_small_and_without_examples(
    env: dict[str, str], offline_settings: Settings
) -> None:
    assert env["AIRFLOW_HOME"] == str(offline_settings.var_dir / "airflow")
    assert env["AIRFLOW__CORE__DAGS_FOLDER"] == str(REPO_ROOT / "dags")
    assert env["AIRFLOW__CORE__PLUGINS_FOLDER"] == str(REPO_ROOT / "plugins")
    assert env["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor"
    assert int(env["AIRFLOW__CORE__PARALLELISM"]) <= 4, "a 2-core machine"
    assert env["AIRFLOW__CORE__LOAD_EXAMPLES"] == "False"
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("sqlite:///")
    assert "SimpleAuthManager" in env["AIRFLOW__CORE__AUTH_MANAGER"]


def test_connections_reach_the_local_node_and_the_sink_without_tls(env: dict[str, str]) -> None:
    smtp = json.loads(env["AIRFLOW_CONN_SMTP_DEFAULT"])
    assert smtp["extra"]["disable_ssl"] is True and smtp["extra"]["disable_tls"] is True
    assert smtp["port"] == stack.SMTP_PORT
    fields = {k: v for k, v in smtp.items() if k != "conn_type"}
    settings = settings_from_airflow(
        es=ConnectionFields(**json.loads(env["AIRFLOW_CONN_ELASTICSEARCH_DEFAULT"])),
        smtp=ConnectionFields(conn_type="smtp", **fields),
        environ={},
    )
    assert settings.es_url == "http://127.0.0.1:9200"
    assert settings.smtp_url == f"smtp://127.0.0.1:{stack.SMTP_PORT}"


def test_demo_mode_polls_the_demo_config_under_its_own_prefix(env: dict[str, str]) -> None:
    assert env["MUNIWATCH_INDEX_PREFIX"] == stack.DEMO_INDEX_PREFIX
    assert env["MUNIWATCH_CONFIG_DIR"].endswith("stack/demo")
    assert "127.0.0.1" in env["MUNIWATCH_ALLOW_HOSTS"].split(",")


def test_the_users_own_prefix_wins(offline_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MUNIWATCH_INDEX_PREFIX", "mine")
    assert stack.airflow_environment(offline_settings, demo=True)["MUNIWATCH_INDEX_PREFIX"] == "mine"
    real = stack.airflow_environment(offline_settings, demo=False)
    assert "MUNIWATCH_CONFIG_DIR" not in real or real["MUNIWATCH_CONFIG_DIR"] != str(
        stack.demo_config_dir(offline_settings)
    )


def test_the_stack_runs_muniwatch_serve_and_mails_links_to_it(
    env: dict[str, str], offline_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    serve = stack.components(offline_settings)["serve"]
    assert serve.argv[1:] == ["serve", "--port", str(stack.SERVE_PORT)]
    assert serve.argv[0].endswith("muniwatch") and serve.marker == "muniwatch serve"
    # the tasks that send alerts link to it, and share its var_dir (hence the signing key)
    assert env["MUNIWATCH_PUBLIC_URL"] == f"http://127.0.0.1:{stack.SERVE_PORT}"
    assert env["MUNIWATCH_VAR_DIR"] == str(offline_settings.var_dir)
    monkeypatch.setenv("MUNIWATCH_PUBLIC_URL", "https://alerts.example.org")
    assert stack.airflow_environment(offline_settings, demo=True)["MUNIWATCH_PUBLIC_URL"] == (
        "https://alerts.example.org"
    )
