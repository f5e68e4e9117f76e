"""Settings inside Airflow: Connections, then Variables, then the environment (which wins)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from pipeline import config as config_module
from pipeline.airflow_settings import (
    ConnectionFields,
    as_bool,
    config_paths_from_airflow,
    es_url_from_connection,
    settings_from_airflow,
    smtp_url_from_connection,
)
from pipeline.settings import REPO_ROOT, SettingsError

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("conn", "url"),
    [
        (
            ConnectionFields(conn_type="elasticsearch", host="es.internal", port=9200),
            "http://es.internal:9200",
        ),
        (ConnectionFields(conn_type="elasticsearch", host="es.internal"), "http://es.internal:9200"),
        (
            ConnectionFields(
                conn_type="elasticsearch", host="es", port=9243, login="elastic", password="p@ss:w/rd"
            ),
            "http://elastic:p%40ss%3Aw%2Frd@es:9243",
        ),
        (
            ConnectionFields(conn_type="elasticsearch", host="es", extra={"scheme": "https"}),
            "https://es:9200",
        ),
        (
            ConnectionFields(conn_type="elasticsearch", host="es", extra={"use_ssl": "true"}),
            "https://es:9200",
        ),
        (
            ConnectionFields(conn_type="elasticsearch", host="es", extra={"use_ssl": "false"}),
            "http://es:9200",
        ),
        (ConnectionFields(conn_type="elasticsearch", host="es", schema="https"), "https://es:9200"),
        (ConnectionFields(conn_type="https", host="es", port=443), "https://es:443"),
        (
            ConnectionFields(conn_type="elasticsearch", host="https://u:pw@es.example:9201"),
            "https://u:pw@es.example:9201",
        ),
    ],
)
def test_elasticsearch_connection_becomes_an_es_url(conn: ConnectionFields, url: str) -> None:
    assert es_url_from_connection(conn) == url


def test_an_airflow_conn_uri_is_read_like_airflow_does() -> None:
    conn = ConnectionFields.from_uri("https://elastic:s%3Acret@elasticsearch:9200?verify_certs=false")
    assert es_url_from_connection(conn) == "https://elastic:s%3Acret@elasticsearch:9200"
    assert conn.extra == {"verify_certs": "false"}


def test_a_connection_object_is_read_by_its_attributes() -> None:
    airflow_like = SimpleNamespace(
        conn_id="smtp_default",
        conn_type="smtp",
        host="mail",
        port="2525",
        login=None,
        password=None,
        schema="",
        extra_dejson={"disable_ssl": True, "disable_tls": True},
    )
    conn = ConnectionFields.from_object(airflow_like)
    assert conn.port == 2525
    assert smtp_url_from_connection(conn) == "smtp://mail:2525"


@pytest.mark.parametrize(
    ("extra", "url"),
    [
        ({}, "smtps://mail:465"),  # the provider's default: SSL unless disabled
        ({"disable_ssl": True}, "smtp://mail:25"),
        ({"disable_ssl": "true"}, "smtp://mail:25"),
        # The provider reads this with bool(): "false" would disable SSL there. Here it does not.
        ({"disable_ssl": "false"}, "smtps://mail:465"),
    ],
)
def test_smtp_connection_flags_are_parsed_not_bool_cast(extra: dict[str, object], url: str) -> None:
    assert smtp_url_from_connection(ConnectionFields(conn_type="smtp", host="mail", extra=extra)) == url


def test_smtp_credentials_are_kept_and_quoted() -> None:
    conn = ConnectionFields(
        conn_type="smtp",
        host="mail",
        port=587,
        login="ops@x.org",
        password="a b",
        extra={"disable_ssl": True},
    )
    assert smtp_url_from_connection(conn) == "smtp://ops%40x.org:a%20b@mail:587"


def test_a_flag_that_is_not_yes_or_no_is_an_error_naming_the_value() -> None:
    assert as_bool("Yes") is True and as_bool(0) is False and as_bool(None, default=True) is True
    with pytest.raises(SettingsError, match="'maybe'"):
        as_bool("maybe")


def test_connection_without_host_is_an_error_naming_the_connection() -> None:
    with pytest.raises(SettingsError, match="elasticsearch_default"):
        es_url_from_connection(ConnectionFields(conn_id="elasticsearch_default", conn_type="elasticsearch"))


def test_precedence_connection_then_variable_then_environment() -> None:
    es = ConnectionFields(conn_type="elasticsearch", host="from-connection", port=9200)
    smtp = ConnectionFields(conn_type="smtp", host="smtp-conn", port=1025, extra={"disable_ssl": True})

    only_connections = settings_from_airflow(es=es, smtp=smtp, environ={})
    assert only_connections.es_url == "http://from-connection:9200"
    assert only_connections.smtp_url == "smtp://smtp-conn:1025"
    assert only_connections.index_prefix == "muniwatch"

    with_variables = settings_from_airflow(
        es=es,
        smtp=smtp,
        environ={},
        variables={
            "muniwatch_es_url": "http://from-variable:9200",
            "muniwatch_index_prefix": "var-prefix",
            "muniwatch_kibana_url": "http://kibana.local:5601/",
            "muniwatch_outbox": None,
        },
    )
    assert with_variables.es_url == "http://from-variable:9200"
    assert with_variables.index_prefix == "var-prefix"
    assert with_variables.kibana_url == "http://kibana.local:5601"

    environment_wins = settings_from_airflow(
        es=es,
        smtp=smtp,
        variables={"muniwatch_index_prefix": "var-prefix"},
        environ={
            "MUNIWATCH_INDEX_PREFIX": "env-prefix",
            "MUNIWATCH_SMTP_URL": "smtp://env:25",
            "MUNIWATCH_ES_URL": "  ",
            "UNRELATED": "x",
        },
    )
    assert environment_wins.index_prefix == "env-prefix"
    assert environment_wins.smtp_url == "smtp://env:25"
    # An empty environment variable does not blank out the connection.
    assert environment_wins.es_url == "http://from-connection:9200"


def test_nothing_configured_gives_the_fresh_machine_defaults() -> None:
    settings = settings_from_airflow(environ={})
    assert settings.es_url == "http://127.0.0.1:9200"
    assert settings.smtp_url is None


def test_an_invalid_variable_is_reported_like_the_environment_variable() -> None:
    with pytest.raises(SettingsError, match="MUNIWATCH_INDEX_PREFIX"):
        settings_from_airflow(variables={"muniwatch_index_prefix": "Bad Prefix"}, environ={})


def test_config_paths_default_to_config_dir_and_follow_variables_and_environment(tmp_path: Path) -> None:
    assert config_paths_from_airflow(environ={}).sources == config_module.DEFAULT_SOURCES

    in_dir = config_paths_from_airflow(variables={"muniwatch_config_dir": str(tmp_path)}, environ={})
    assert in_dir.sources == tmp_path / "sources.yaml"
    assert in_dir.subscriptions == tmp_path / "subscriptions.yaml"

    one_file = config_paths_from_airflow(
        variables={"muniwatch_config_dir": str(tmp_path)},
        environ={"MUNIWATCH_SOURCES_FILE": "tests/fixtures/other-sources.yaml"},
    )
    assert one_file.sources == REPO_ROOT / "tests/fixtures/other-sources.yaml"
    assert one_file.watchlists == tmp_path / "watchlists.yaml"
