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
# `muniwatch serve` on this machine: the reporter-facing pages (unsubscribe, digest preview).
DEFAULT_SERVE_HOST = "127.0.0.1"
DEFAULT_SERVE_PORT = 8090
DEFAULT_PUBLIC_URL = f"http://{DEFAULT_SERVE_HOST}:{DEFAULT_SERVE_PORT}"
# MUNIWATCH_DEPLOYMENT values; "production" makes the public URL and the sender required.
DEPLOYMENTS = ("local", "production")
_LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1", "0.0.0.0", "::")

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
    # An API key (the base64 "id:key" Elasticsearch hands out), sent as ``Authorization: ApiKey``:
    # what managed offerings issue instead of a password. A secret: never logged or printed.
    es_api_key: str | None = field(default=None, repr=False)
    index_prefix: str = DEFAULT_INDEX_PREFIX
    smtp_url: str | None = None
    outbox: Path = field(default_factory=lambda: REPO_ROOT / DEFAULT_OUTBOX)
    allow_hosts: frozenset[str] = frozenset()
    x_bearer_token: str | None = None
    var_dir: Path = field(default_factory=lambda: REPO_ROOT / "var")
    kibana_url: str = "http://127.0.0.1:5601"
    unsubscribe_secret: str | None = None
    # Alert e-mails: the From address, and the public base URL of `muniwatch serve`, which every
    # link a reporter follows points at (one-click unsubscribe, digest preview).
    mail_from: str = DEFAULT_MAIL_FROM
    public_url: str = DEFAULT_PUBLIC_URL
    # MUNIWATCH_UNSUBSCRIBE_URL, deprecated: an unsubscribe endpoint other than {public_url}/unsubscribe.
    unsubscribe_url_override: str | None = None
    deployment: str = "local"

    @property
    def unsubscribe_url(self) -> str:
        return self.unsubscribe_url_override or f"{self.public_url}/unsubscribe"

    @property
    def digest_url(self) -> str:
        return f"{self.public_url}/digest"

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
    deployment = env.get("MUNIWATCH_DEPLOYMENT", "").strip().lower() or "local"
    if deployment not in DEPLOYMENTS:
        raise SettingsError(f"MUNIWATCH_DEPLOYMENT={deployment!r} must be one of {', '.join(DEPLOYMENTS)}")
    return Settings(
        es_url=es_url,
        es_ca_certs=env.get("MUNIWATCH_ES_CA_CERTS", "").strip() or None,
        es_api_key=env.get("MUNIWATCH_ES_API_KEY", "").strip() or None,
        index_prefix=prefix,
        smtp_url=smtp_url,
        outbox=outbox,
        allow_hosts=_split_hosts(env.get("MUNIWATCH_ALLOW_HOSTS", "")),
        x_bearer_token=env.get("MUNIWATCH_X_BEARER_TOKEN", "").strip() or None,
        var_dir=var_dir,
        kibana_url=env.get("MUNIWATCH_KIBANA_URL", "http://127.0.0.1:5601").rstrip("/"),
        unsubscribe_secret=env.get("MUNIWATCH_UNSUBSCRIBE_SECRET", "").strip() or None,
        mail_from=env.get("MUNIWATCH_MAIL_FROM", "").strip() or DEFAULT_MAIL_FROM,
        public_url=_public_url(env.get("MUNIWATCH_PUBLIC_URL", "")),
        unsubscribe_url_override=env.get("MUNIWATCH_UNSUBSCRIBE_URL", "").strip() or None,
        deployment=deployment,
    )


def _public_url(raw: str) -> str:
    value = raw.strip().rstrip("/")
    if not value:
        return DEFAULT_PUBLIC_URL
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise SettingsError(
            f"MUNIWATCH_PUBLIC_URL={raw.strip()!r} must be an http(s) base URL without query or fragment, "
            "like https://alerts.example.org"
        )
    return value


def check_public_settings(settings: Settings) -> None:
    """In a deployment, refuse to mail or serve links nobody outside this machine can follow.

    Raises:
        SettingsError: naming the variable and why (one line), when ``settings.deployment`` is
            "production" and the public URL is local or not https, or the sender is the default.
    """
    if settings.deployment != "production":
        return
    host = (urlsplit(settings.public_url).hostname or "").lower()
    if settings.public_url == DEFAULT_PUBLIC_URL or host in _LOCAL_HOSTS or host.endswith(".localhost"):
        raise SettingsError(
            f"MUNIWATCH_PUBLIC_URL={settings.public_url!r} is a local address: in production set it to "
            "the https URL where reporters reach `muniwatch serve` (e-mail links point there)"
        )
    if not settings.public_url.startswith("https://"):
        raise SettingsError(
            f"MUNIWATCH_PUBLIC_URL={settings.public_url!r} must be https in production "
            "(RFC 8058 one-click unsubscribe links are https only)"
        )
    if settings.unsubscribe_url_override and not settings.unsubscribe_url_override.startswith("https://"):
        raise SettingsError(
            f"MUNIWATCH_UNSUBSCRIBE_URL={settings.unsubscribe_url_override!r} must be https in production; "
            "better unset it (deprecated) and let links follow MUNIWATCH_PUBLIC_URL"
        )
    sender = settings.mail_from.lower()
    if settings.mail_from == DEFAULT_MAIL_FROM or ".localhost" in sender or "@localhost" in sender:
        raise SettingsError(
            f"MUNIWATCH_MAIL_FROM={settings.mail_from!r} is the local default: in production set the "
            "address alerts are sent from, like 'muniwatch <alerts@example.org>'"
        )
