"""The Elasticsearch client, built in one place from :class:`Settings`."""

from __future__ import annotations

from typing import Any

from elasticsearch import Elasticsearch

from pipeline.settings import Settings

# Long enough for a bulk request on a busy 2-core machine, short enough that a dead node
# fails a task instead of hanging it.
REQUEST_TIMEOUT_S = 30.0


def make_client(settings: Settings) -> Elasticsearch:
    """A client for ``settings.es_url`` with retries on timeouts.

    Credentials: a user and password in the URL, or ``settings.es_api_key`` (a managed cluster's
    API key; it wins over a URL password, which should then not be set).

    ``es_url`` may list several nodes of one cluster, comma-separated: the client spreads requests
    over them and retries a request on another node when one is down.
    """
    options: dict[str, Any] = {
        "request_timeout": REQUEST_TIMEOUT_S,
        "retry_on_timeout": True,
        "max_retries": 3,
        "retry_on_status": (502, 503, 504),
    }
    if settings.es_ca_certs:  # docker-compose: TLS with the stack's own CA
        options["ca_certs"] = settings.es_ca_certs
    if settings.es_api_key:
        options["api_key"] = settings.es_api_key
    hosts = [url.strip() for url in settings.es_url.split(",") if url.strip()]
    return Elasticsearch(hosts, **options)
