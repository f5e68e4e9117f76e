"""`muniwatch subscribe add --source-kind`: a subscription for one kind of source only (287g_list: ICE's
list changes, nothing from the news), stored, listed, and refused when the kind does not exist."""

from __future__ import annotations

import pytest
from elasticsearch import Elasticsearch

from pipeline.alerts.subscriptions import get_subscription
from pipeline.cli import main
from pipeline.settings import Settings

pytestmark = pytest.mark.integration


def test_a_list_changes_only_subscription_is_stored_and_listed(
    cli_env: Settings, es: Elasticsearch, capsys: pytest.CaptureFixture[str]
) -> None:
    add = ["subscribe", "add", "--id", "lists", "--email", "lists@example.org"]
    assert main([*add, "--source-kind", "287g_list", "--source-kind", "legistar"]) == 0
    assert "added lists: lists@example.org, immediate, source kind in 287g_list, legistar" in (
        capsys.readouterr().out
    )
    stored = get_subscription(es, cli_env, "lists")
    assert stored is not None and stored.source_kinds == ("287g_list", "legistar")
    assert main(["subscribe", "list"]) == 0
    assert "source kind in 287g_list, legistar" in capsys.readouterr().out


def test_an_unknown_source_kind_is_refused_with_the_kinds_there_are(
    cli_env: Settings, es: Elasticsearch, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["subscribe", "add", "--id", "x", "--email", "x@example.org", "--source-kind", "287g"])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "--source-kind: invalid choice: '287g'" in err and "287g_list" in err
    assert get_subscription(es, cli_env, "x") is None
