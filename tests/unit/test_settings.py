"""Settings come from the environment with defaults that work on a fresh machine."""

from __future__ import annotations

import pytest

from pipeline.settings import REPO_ROOT, SettingsError, load_settings

pytestmark = pytest.mark.unit


def test_defaults_work_on_a_fresh_machine() -> None:
    settings = load_settings({})
    assert settings.es_url == "http://127.0.0.1:9200"
    assert settings.index_prefix == "muniwatch"
    assert settings.smtp_url is None
    assert settings.outbox == REPO_ROOT / "var" / "outbox"
    assert settings.allow_hosts == frozenset()
    assert settings.x_bearer_token is None
    assert settings.index("items") == "muniwatch-items"


def test_environment_overrides_each_default(tmp_path: object) -> None:
    settings = load_settings(
        {
            "MUNIWATCH_ES_URL": "https://elastic:secret@es.internal:9243",
            "MUNIWATCH_INDEX_PREFIX": "newsroom",
            "MUNIWATCH_SMTP_URL": "smtps://user:pw@mail.example.org:465",
            "MUNIWATCH_OUTBOX": "/srv/outbox",
            "MUNIWATCH_ALLOW_HOSTS": " 127.0.0.1, Feeds.Local ,,",
            "MUNIWATCH_X_BEARER_TOKEN": "tok",
        }
    )
    assert settings.es_url == "https://elastic:secret@es.internal:9243"
    assert settings.index("stories") == "newsroom-stories"
    assert settings.smtp_url == "smtps://user:pw@mail.example.org:465"
    assert str(settings.outbox) == "/srv/outbox"
    assert settings.allow_hosts == frozenset({"127.0.0.1", "feeds.local"})
    assert settings.x_bearer_token == "tok"


def test_relative_outbox_is_under_the_checkout() -> None:
    assert load_settings({"MUNIWATCH_OUTBOX": "mail/out"}).outbox == REPO_ROOT / "mail" / "out"


@pytest.mark.parametrize(
    ("variable", "value", "named"),
    [
        ("MUNIWATCH_INDEX_PREFIX", "Bad Prefix", "MUNIWATCH_INDEX_PREFIX"),
        ("MUNIWATCH_INDEX_PREFIX", "-leading", "MUNIWATCH_INDEX_PREFIX"),
        ("MUNIWATCH_ES_URL", "127.0.0.1:9200", "MUNIWATCH_ES_URL"),
        ("MUNIWATCH_SMTP_URL", "mail.example.org:25", "MUNIWATCH_SMTP_URL"),
    ],
)
def test_invalid_values_name_the_variable(variable: str, value: str, named: str) -> None:
    with pytest.raises(SettingsError, match=named):
        load_settings({variable: value})
