"""Settings inside Airflow: Connections and Variables first, environment variables on top.

Pure functions, no Airflow import: ``dags/`` reads the Connections (``elasticsearch_default``,
``smtp_default``) and the ``muniwatch_*`` Variables and hands their *fields* here, so the
translation is unit-testable without a metadata database.

Precedence, lowest to highest (DESIGN, "Environment"):

1. the defaults of :func:`pipeline.settings.load_settings`;
2. the Connections: ``elasticsearch_default`` → ``MUNIWATCH_ES_URL`` (and its extra ``api_key`` →
   ``MUNIWATCH_ES_API_KEY``), ``smtp_default`` → ``MUNIWATCH_SMTP_URL``;
3. Variables named like the environment variables, lowercased: ``muniwatch_index_prefix`` →
   ``MUNIWATCH_INDEX_PREFIX``, ``muniwatch_kibana_url`` → ``MUNIWATCH_KIBANA_URL``, …;
4. non-empty ``MUNIWATCH_*`` environment variables.

Secrets (passwords, tokens) only ever arrive as arguments: none lives in code or in the repository.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from pipeline import config as config_module
from pipeline.settings import REPO_ROOT, Settings, SettingsError, load_settings
from pipeline.tasks import ConfigPaths

LOGGER = logging.getLogger(__name__)

ES_CONN_ID = "elasticsearch_default"
SMTP_CONN_ID = "smtp_default"
ENV_PREFIX = "MUNIWATCH_"
VARIABLE_PREFIX = "muniwatch_"
# Variables that are not Settings: read by the DAGs themselves.
OPS_EMAIL_VARIABLE = "muniwatch_ops_email"
FETCH_POOL = "muniwatch_fetch"

# Every Settings field that can come from a Variable (same names as the environment, lowercased),
# plus the configuration file locations. The DAGs ask Airflow for exactly these.
SETTING_VARIABLES = (
    "muniwatch_es_url",
    "muniwatch_es_api_key",
    "muniwatch_index_prefix",
    "muniwatch_smtp_url",
    "muniwatch_outbox",
    "muniwatch_allow_hosts",
    "muniwatch_x_bearer_token",
    "muniwatch_var_dir",
    "muniwatch_kibana_url",
    "muniwatch_unsubscribe_secret",
    "muniwatch_mail_from",
    "muniwatch_unsubscribe_url",
    "muniwatch_public_url",
    "muniwatch_deployment",
    "muniwatch_config_dir",
    "muniwatch_sources_file",
    "muniwatch_watchlists_file",
    "muniwatch_subscriptions_file",
)

_TRUE = {"1", "true", "yes", "on", "y", "t"}
_FALSE = {"0", "false", "no", "off", "n", "f", ""}


@dataclass(frozen=True, kw_only=True)
class ConnectionFields:
    """The fields of an Airflow Connection that matter here (``Connection`` has the same names)."""

    conn_id: str = ""
    conn_type: str | None = None
    host: str | None = None
    port: int | None = None
    login: str | None = None
    password: str | None = None
    schema: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_object(cls, conn: Any) -> ConnectionFields:
        """From anything shaped like ``airflow.sdk.Connection`` (duck-typed: no Airflow import)."""
        extra: Any = getattr(conn, "extra_dejson", None)
        if extra is None:
            raw = getattr(conn, "extra", None) or "{}"
            extra = json.loads(raw) if isinstance(raw, str) else dict(raw)
        port = getattr(conn, "port", None)
        return cls(
            conn_id=str(getattr(conn, "conn_id", "") or ""),
            conn_type=getattr(conn, "conn_type", None),
            host=getattr(conn, "host", None),
            port=int(port) if port not in (None, "") else None,
            login=getattr(conn, "login", None),
            password=getattr(conn, "password", None),
            schema=getattr(conn, "schema", None),
            extra=dict(extra or {}),
        )

    @classmethod
    def from_uri(cls, uri: str, conn_id: str = "") -> ConnectionFields:
        """Parse an ``AIRFLOW_CONN_*``-style URI, e.g. ``https://user:pw@host:9200?use_ssl=true``."""
        parts = urlsplit(uri)
        extra: dict[str, Any] = {}
        for pair in filter(None, parts.query.split("&")):
            key, _, value = pair.partition("=")
            extra[unquote(key)] = unquote(value)
        return cls(
            conn_id=conn_id,
            conn_type=parts.scheme.replace("-", "_") or None,
            host=parts.hostname,
            port=parts.port,
            login=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            schema=parts.path.lstrip("/") or None,
            extra=extra,
        )


def as_bool(value: Any, *, default: bool = False) -> bool:
    """A flag from a Connection extra or a Variable. Unlike ``bool()``, the string "false" is false."""
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value != 0
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise SettingsError(f"{value!r} is not a yes/no value (use true or false)")


def _userinfo(login: str | None, password: str | None) -> str:
    if not login:
        return ""
    secret = f":{quote(password, safe='')}" if password else ""
    return f"{quote(login, safe='')}{secret}@"


def es_url_from_connection(conn: ConnectionFields) -> str:
    """``elasticsearch_default`` → an ``http(s)://user:pass@host:port`` URL for ``MUNIWATCH_ES_URL``.

    The scheme is https when the connection says so in any of the ways people write it: a full
    URL in the host field, the conn type (``https``), ``schema: https``, or the extras
    ``scheme: https`` / ``use_ssl: true``.
    """
    host = (conn.host or "").strip()
    port = conn.port
    login, password = conn.login, conn.password
    scheme = "http"
    if "://" in host:  # a whole URL typed into the host field
        parts = urlsplit(host)
        scheme = parts.scheme or scheme
        host = parts.hostname or ""
        port = port or parts.port
        login = login or (unquote(parts.username) if parts.username else None)
        password = password or (unquote(parts.password) if parts.password else None)
    conn_type = (conn.conn_type or "").lower()
    if conn_type in {"http", "https"}:
        scheme = conn_type
    if (conn.schema or "").lower() in {"http", "https"}:
        scheme = (conn.schema or "").lower()
    if conn.extra.get("scheme"):
        scheme = str(conn.extra["scheme"]).lower()
    if as_bool(conn.extra.get("use_ssl"), default=False):
        scheme = "https"
    if scheme not in {"http", "https"}:
        raise SettingsError(
            f"connection {conn.conn_id or ES_CONN_ID}: scheme {scheme!r} is not http or https"
        )
    if not host:
        raise SettingsError(f"connection {conn.conn_id or ES_CONN_ID}: no host")
    return f"{scheme}://{_userinfo(login, password)}{host}:{port or 9200}"


def smtp_url_from_connection(conn: ConnectionFields) -> str:
    """``smtp_default`` → ``smtp://`` or ``smtps://user:pass@host:port`` for ``MUNIWATCH_SMTP_URL``.

    Follows the smtp provider's reading of the extras (SSL unless ``disable_ssl``) so alerts and
    the failure e-mails of ``SmtpNotifier`` use the server the same way — but parses the flag
    properly: the provider reads it with ``bool()``, for which the string "false" is true.
    """
    host = (conn.host or "").strip()
    if not host:
        raise SettingsError(f"connection {conn.conn_id or SMTP_CONN_ID}: no host")
    use_ssl = not as_bool(conn.extra.get("disable_ssl"), default=False)
    if (conn.conn_type or "").lower() == "smtps":
        use_ssl = True
    scheme = "smtps" if use_ssl else "smtp"
    port = conn.port or (465 if use_ssl else 25)
    return f"{scheme}://{_userinfo(conn.login, conn.password)}{host}:{port}"


def merged_environment(
    *,
    es: ConnectionFields | None = None,
    smtp: ConnectionFields | None = None,
    variables: Mapping[str, str | None] | None = None,
    environ: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The ``MUNIWATCH_*`` mapping the settings are built from, with the precedence above."""
    merged: dict[str, str] = {}
    if es is not None:
        merged["MUNIWATCH_ES_URL"] = es_url_from_connection(es)
        # A managed cluster's API key rides in the Connection's extras ({"api_key": "..."}), where
        # Airflow masks it, rather than in a Variable.
        if api_key := str(es.extra.get("api_key") or "").strip():
            merged["MUNIWATCH_ES_API_KEY"] = api_key
    if smtp is not None:
        merged["MUNIWATCH_SMTP_URL"] = smtp_url_from_connection(smtp)
    for name, value in (variables or {}).items():
        if value is None or not name.lower().startswith(VARIABLE_PREFIX):
            continue
        merged[name.upper()] = str(value)
    for name, value in (environ or {}).items():
        if name.startswith(ENV_PREFIX) and value.strip():
            merged[name] = value
    return merged


def settings_from_airflow(
    *,
    es: ConnectionFields | None = None,
    smtp: ConnectionFields | None = None,
    variables: Mapping[str, str | None] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """:class:`Settings` from Connections, Variables and the environment (which wins).

    Args:
        es: the ``elasticsearch_default`` Connection, or None when it is not defined.
        smtp: the ``smtp_default`` Connection, or None (alerts then go to the outbox folder).
        variables: ``muniwatch_*`` Variables by name (missing ones absent or None).
        environ: the process environment; its non-empty ``MUNIWATCH_*`` entries override.
    """
    return load_settings(merged_environment(es=es, smtp=smtp, variables=variables, environ=environ))


def config_paths_from_airflow(
    *, variables: Mapping[str, str | None] | None = None, environ: Mapping[str, str] | None = None
) -> ConfigPaths:
    """Where the three YAML files are: ``MUNIWATCH_CONFIG_DIR`` and/or one variable per file."""
    merged = merged_environment(variables=variables, environ=environ)

    def resolve(raw: str) -> Path:
        path = Path(raw)
        return path if path.is_absolute() else REPO_ROOT / path

    directory = resolve(merged["MUNIWATCH_CONFIG_DIR"]) if "MUNIWATCH_CONFIG_DIR" in merged else None

    def pick(variable: str, filename: str, default: Path) -> Path:
        if variable in merged:
            return resolve(merged[variable])
        return directory / filename if directory is not None else default

    return ConfigPaths(
        sources=pick("MUNIWATCH_SOURCES_FILE", "sources.yaml", config_module.DEFAULT_SOURCES),
        watchlists=pick("MUNIWATCH_WATCHLISTS_FILE", "watchlists.yaml", config_module.DEFAULT_WATCHLISTS),
        subscriptions=pick(
            "MUNIWATCH_SUBSCRIPTIONS_FILE", "subscriptions.yaml", config_module.DEFAULT_SUBSCRIPTIONS
        ),
    )
