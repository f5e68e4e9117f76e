"""Runtime settings, read once from the environment and passed down.

Each variable has a default that works on a fresh machine (see DESIGN, "Environment").
Inside Airflow, ``dags/`` builds the same object from Connections and Variables and lets
environment variables override them.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

REPO_ROOT = Path(__file__).resolve().parent.parent

DEFAULT_ES_URL = "http://127.0.0.1:9200"
DEFAULT_INDEX_PREFIX = "muniwatch"
DEFAULT_OUTBOX = "var/outbox"
DEFAULT_MAIL_FROM = "muniwatch alerts <alerts@muniwatch.localhost>"
DEFAULT_UNSUBSCRIBE_URL = "http://127.0.0.1:8080/muniwatch/unsubscribe"

# Index names become part of URLs and Kibana patterns: keep the prefix to what ES accepts
# and what needs no escaping.
_PREFIX_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


class SettingsError(ValueError):
    """A setting from the environment is invalid; the message names the variable."""


def without_credentials(url: str) -> str:
    """``url`` without the user and password it may carry (``MUNIWATCH_ES_URL``, ``MUNIWATCH_SMTP_URL``,
    the Kibana URL): what logs, errors and summaries may show. A trailing slash is dropped."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url.rstrip("/")
    host = parts.hostname or ""
    netloc = f"[{host}]" if ":" in host else host
    if parts.port is not None:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment)).rstrip("/")


@dataclass(frozen=True, kw_only=True)
class Settings:
    es_url: str = DEFAULT_ES_URL
    # CA bundle for an Elasticsearch with TLS (docker-compose); None: system trust store.
    es_ca_certs: str | None = None
    index_prefix: str = DEFAULT_INDEX_PREFIX
    smtp_url: str | None = None
    outbox: Path = field(default_factory=lambda: REPO_ROOT / DEFAULT_OUTBOX)
    allow_hosts: frozenset[str] = frozenset()
    x_bearer_token: str | None = None
    var_dir: Path = field(default_factory=lambda: REPO_ROOT / "var")
    kibana_url: str = "http://127.0.0.1:5601"
    unsubscribe_secret: str | None = None
    # Alert e-mails: the From address, and the one-click unsubscribe endpoint (the ops view in
    # Airflow serves it; production puts an https URL here, RFC 8058).
    mail_from: str = DEFAULT_MAIL_FROM
    unsubscribe_url: str = DEFAULT_UNSUBSCRIBE_URL

    def index(self, name: str) -> str:
        """The alias of one of the project's indices, e.g. ``index("items")``."""
        return f"{self.index_prefix}-{name}"

    def with_overrides(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]


def _split_hosts(raw: str) -> frozenset[str]:
    return frozenset(h.strip().lower() for h in raw.split(",") if h.strip())


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Build :class:`Settings` from environment variables (``os.environ`` by default)."""
    env = os.environ if environ is None else environ
    prefix = env.get("MUNIWATCH_INDEX_PREFIX", DEFAULT_INDEX_PREFIX).strip()
    if not _PREFIX_PATTERN.match(prefix):
        raise SettingsError(
            f"MUNIWATCH_INDEX_PREFIX={prefix!r} is not a valid index prefix: use lowercase letters, "
            "digits, '-' and '_', starting with a letter or digit (at most 64 characters)"
        )
    es_url = env.get("MUNIWATCH_ES_URL", DEFAULT_ES_URL).strip() or DEFAULT_ES_URL
    if not es_url.startswith(("http://", "https://")):
        raise SettingsError(f"MUNIWATCH_ES_URL={es_url!r} must start with http:// or https://")
    smtp_url = env.get("MUNIWATCH_SMTP_URL", "").strip() or None
    if smtp_url is not None and not smtp_url.startswith(("smtp://", "smtps://")):
        raise SettingsError("MUNIWATCH_SMTP_URL must look like smtp://user:pass@host:port or smtps://...")
    outbox = Path(env.get("MUNIWATCH_OUTBOX", DEFAULT_OUTBOX))
    if not outbox.is_absolute():
        outbox = REPO_ROOT / outbox
    var_dir = Path(env.get("MUNIWATCH_VAR_DIR", str(REPO_ROOT / "var")))
    return Settings(
        es_url=es_url,
        es_ca_certs=env.get("MUNIWATCH_ES_CA_CERTS", "").strip() or None,
        index_prefix=prefix,
        smtp_url=smtp_url,
        outbox=outbox,
        allow_hosts=_split_hosts(env.get("MUNIWATCH_ALLOW_HOSTS", "")),
        x_bearer_token=env.get("MUNIWATCH_X_BEARER_TOKEN", "").strip() or None,
        var_dir=var_dir,
        kibana_url=env.get("MUNIWATCH_KIBANA_URL", "http://127.0.0.1:5601").rstrip("/"),
        unsubscribe_secret=env.get("MUNIWATCH_UNSUBSCRIBE_SECRET", "").strip() or None,
        mail_from=env.get("MUNIWATCH_MAIL_FROM", "").strip() or DEFAULT_MAIL_FROM,
        unsubscribe_url=env.get("MUNIWATCH_UNSUBSCRIBE_URL", "").strip() or DEFAULT_UNSUBSCRIBE_URL,
    )
