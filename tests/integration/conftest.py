"""Fixtures shared by the integration tests."""

from __future__ import annotations

import pytest

from pipeline.settings import Settings


@pytest.fixture()
def cli_env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The environment the `muniwatch` command reads, pointed at this test's prefix."""
    monkeypatch.setenv("MUNIWATCH_ES_URL", settings.es_url)
    monkeypatch.setenv("MUNIWATCH_INDEX_PREFIX", settings.index_prefix)
    monkeypatch.setenv("MUNIWATCH_UNSUBSCRIBE_SECRET", str(settings.unsubscribe_secret))
    monkeypatch.setenv("MUNIWATCH_VAR_DIR", str(settings.var_dir))
    return settings
