"""`muniwatch subscribe add` as a user types it: an existing id is never redefined silently, and a
state may be given by name."""

from __future__ import annotations

import pytest
from elasticsearch import Elasticsearch

from pipeline.alerts.subscriptions import get_subscription
from pipeline.cli import main
from pipeline.settings import Settings

pytestmark = pytest.mark.integration


def test_add_on_an_existing_id_refuses_unless_replace(
    cli_env: Settings, es: Elasticsearch, capsys: pytest.CaptureFixture[str]
) -> None:
    add = ["subscribe", "add", "--id", "desk", "--email", "desk@example.org"]
    assert main([*add, "--mode", "daily", "--state", "California"]) == 0
    assert "added desk: desk@example.org, daily, state in CA" in capsys.readouterr().out

    assert main([*add, "--mode", "immediate"]) == 1
    err = capsys.readouterr().err
    assert "subscription 'desk' exists (desk@example.org, daily, state in CA); nothing was changed" in err
    assert "--replace" in err
    kept = get_subscription(es, cli_env, "desk")
    assert kept is not None and kept.mode == "daily" and kept.states == ("CA",)

    assert main([*add, "--mode", "immediate", "--state", "new york", "--replace"]) == 0
    assert "replaced desk: desk@example.org, immediate, state in NY" in capsys.readouterr().out
    replaced = get_subscription(es, cli_env, "desk")
    assert replaced is not None and replaced.mode == "immediate" and replaced.states == ("NY",)


def test_a_misspelt_state_is_refused_with_the_option_named(
    cli_env: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["subscribe", "add", "--id", "x", "--email", "x@example.org", "--state", "Californa"]) == 2
    assert (
        "--state: not US states (use a USPS code such as CA, or a full name): Californa"
        in capsys.readouterr().err
    )
