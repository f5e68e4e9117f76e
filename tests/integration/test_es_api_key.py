"""A managed Elasticsearch that takes an API key instead of a password.

A loopback server stands in for the managed cluster's front door: it answers like Elasticsearch
only when the request carries ``Authorization: ApiKey <key>``, and 401 otherwise, as Elastic Cloud
does. The key comes from ``MUNIWATCH_ES_API_KEY`` or, inside Airflow, the Connection's extras.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler

import pytest
from elasticsearch import AuthenticationException

from pipeline.airflow_settings import ConnectionFields, settings_from_airflow
from pipeline.settings import load_settings
from pipeline.store.client import make_client
from tests.support.http import LoopbackHTTPServer, Route

pytestmark = pytest.mark.integration

API_KEY = "VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw=="


def _answer(request: BaseHTTPRequestHandler) -> None:
    if request.headers.get("Authorization") == f"ApiKey {API_KEY}":
        status, body = 200, {"name": "managed-1", "cluster_name": "cloud", "version": {"number": "9.5.4"}}
    else:
        status, body = 401, {"error": {"type": "security_exception", "reason": "missing authentication"}}
    payload = json.dumps(body).encode()
    request.send_response(status)
    request.send_header("Content-Type", "application/json")
    request.send_header("X-Elastic-Product", "Elasticsearch")
    request.send_header("Content-Length", str(len(payload)))
    request.end_headers()
    request.wfile.write(payload)


@pytest.fixture
def managed_es() -> Iterator[LoopbackHTTPServer]:
    server = LoopbackHTTPServer()
    server.add("/", Route(handler=_answer))
    yield server
    server.close()


def test_the_api_key_from_the_environment_opens_the_cluster(managed_es: LoopbackHTTPServer) -> None:
    settings = load_settings({"MUNIWATCH_ES_URL": managed_es.base_url, "MUNIWATCH_ES_API_KEY": API_KEY})
    assert make_client(settings).info()["cluster_name"] == "cloud"
    assert API_KEY not in repr(settings)  # settings get logged; the key must not be


def test_without_the_key_the_cluster_refuses(managed_es: LoopbackHTTPServer) -> None:
    with pytest.raises(AuthenticationException):
        make_client(load_settings({"MUNIWATCH_ES_URL": managed_es.base_url})).info()


def test_inside_airflow_the_key_comes_from_the_connection_extras(managed_es: LoopbackHTTPServer) -> None:
    connection = ConnectionFields.from_uri(
        f"{managed_es.base_url}?api_key={API_KEY}", "elasticsearch_default"
    )
    settings = settings_from_airflow(es=connection)
    assert make_client(settings).info()["cluster_name"] == "cloud"
