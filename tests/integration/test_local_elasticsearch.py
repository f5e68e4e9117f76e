"""The local node that `muniwatch es up` starts, and the versioned indices behind aliases."""

from __future__ import annotations

import subprocess
import sys

import pytest
from elasticsearch import Elasticsearch

from pipeline.local import es_install, es_local
from pipeline.settings import Settings
from pipeline.store.indices import INDEX_NAMES, current_index, ensure_indices

pytestmark = pytest.mark.integration


def test_status_reports_a_healthy_9x_node(es_session_settings: Settings) -> None:
    node = es_local.status(es_session_settings)
    assert node.reachable
    assert node.health in {"green", "yellow"}
    assert node.version == es_install.ES_VERSION
    assert node.version.startswith("9.")


def test_cli_status_exit_code_and_message(es_session_settings: Settings) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pipeline.cli", "es", "status"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert f"version {es_install.ES_VERSION}" in result.stdout


def test_up_is_idempotent(es_session_settings: Settings) -> None:
    before = es_local.status(es_session_settings)
    again = es_local.up(es_session_settings)
    assert again.reachable and again.pid == before.pid


def test_indices_are_created_once_behind_their_aliases(settings: Settings, es: Elasticsearch) -> None:
    first = ensure_indices(es, settings)
    second = ensure_indices(es, settings)
    assert first == second
    for name in INDEX_NAMES:
        assert first[name] == f"{settings.index(name)}-v1"
        assert current_index(es, settings, name) == first[name]
        assert es.indices.exists_alias(name=settings.index(name))


def test_mappings_reject_unexpected_fields(settings: Settings, es: Elasticsearch) -> None:
    ensure_indices(es, settings)
    with pytest.raises(Exception, match="strict_dynamic_mapping"):
        es.index(index=settings.index("items"), id="x", document={"surprise": 1})


def test_each_test_gets_its_own_prefix(settings: Settings, es_session_settings: Settings) -> None:
    assert settings.index_prefix.startswith(es_session_settings.index_prefix + "-")
