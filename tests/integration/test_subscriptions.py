"""Subscriptions in Elasticsearch: YAML sync that never undoes an unsubscribe, signed unsubscribe
tokens (forged ones refused), the ``muniwatch subscribe``/``unsubscribe`` commands, and query
subscriptions matching exactly what ``muniwatch search`` finds."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch

from pipeline.alerts import InvalidTokenError, run_alerts, unsubscribe
from pipeline.alerts.ledger import get, story_delivery_id
from pipeline.alerts.matching import match_items
from pipeline.alerts.subscriptions import (
    Subscription,
    SubscriptionError,
    add_subscription,
    get_subscription,
    list_subscriptions,
    sync_subscriptions,
)
from pipeline.alerts.tokens import make_token, unsubscribe_secret
from pipeline.cli import main
from pipeline.config import ConfigError, SubscriptionConfig, load_subscriptions
from pipeline.search.query import search_items
from pipeline.settings import Settings
from tests.integration.test_alerts_fixtures import (
    ALERTS,
    SUBSCRIBED_AT,
    T0,
    index_items,
    index_stories,
    load_world,
)
from tests.support.smtp import LoopbackSMTPServer

pytestmark = pytest.mark.integration


def _yaml(tmp_path: Path, body: str, name: str = "subscriptions.yaml") -> Path:
    path = tmp_path / name
    path.write_text(body, encoding="utf-8")
    return path


def _token(settings: Settings, subscription_id: str, email: str) -> str:
    return make_token(unsubscribe_secret(settings), subscription_id, email)


def test_sync_creates_updates_deactivates_and_reactivates(
    es: Elasticsearch, settings: Settings, tmp_path: Path
) -> None:
    first = _yaml(
        tmp_path, "subscriptions:\n  - {id: a, email: a@example.org}\n  - {id: b, email: b@example.org}\n"
    )
    assert sync_subscriptions(es, settings, load_subscriptions(first), now=SUBSCRIBED_AT) == {
        "created": 2,
        "updated": 0,
        "unchanged": 0,
        "kept_unsubscribed": 0,
        "deactivated": 0,
        "refused": 0,
    }
    again = sync_subscriptions(es, settings, load_subscriptions(first), now=SUBSCRIBED_AT)
    assert again["unchanged"] == 2 and again["created"] == again["updated"] == 0

    changed = _yaml(
        tmp_path,
        "subscriptions:\n  - {id: a, email: a@example.org, mode: daily, digest_hour: 9}\n",
        "changed.yaml",
    )
    counts = sync_subscriptions(
        es, settings, load_subscriptions(changed), now=SUBSCRIBED_AT + timedelta(hours=1)
    )
    assert counts["updated"] == 1 and counts["deactivated"] == 1
    a, b = get_subscription(es, settings, "a"), get_subscription(es, settings, "b")
    assert a is not None and a.mode == "daily" and a.digest_hour == 9 and a.active
    assert b is not None and not b.active and b.removed_at is not None and b.unsubscribed_at is None
    assert a.created_at == SUBSCRIBED_AT  # redefining keeps the original creation time

    back = sync_subscriptions(es, settings, load_subscriptions(first), now=SUBSCRIBED_AT + timedelta(hours=2))
    assert back["updated"] == 2, back
    b = get_subscription(es, settings, "b")
    assert b is not None and b.active and b.removed_at is None


def test_unsubscribe_by_token_sticks_through_sync_and_add(
    es: Elasticsearch, settings: Settings, tmp_path: Path
) -> None:
    path = _yaml(
        tmp_path, "subscriptions:\n  - {id: desk, email: Desk@Example.org, filter: {states: [ca]}}\n"
    )
    sync_subscriptions(es, settings, load_subscriptions(path), now=SUBSCRIBED_AT)

    subscription = unsubscribe(es, settings, _token(settings, "desk", "Desk@example.org"), now=T0)

    assert isinstance(subscription, Subscription)
    assert not subscription.active and subscription.unsubscribed_at == T0
    counts = sync_subscriptions(es, settings, load_subscriptions(path), now=T0 + timedelta(days=1))
    assert counts["kept_unsubscribed"] == 1
    stored = get_subscription(es, settings, "desk")
    assert stored is not None and not stored.active and stored.unsubscribed_at == T0
    with pytest.raises(SubscriptionError, match="unsubscribed by its recipient"):
        add_subscription(es, settings, SubscriptionConfig(id="desk", email="desk@example.org"), now=T0)
    # using the link again is harmless
    again = unsubscribe(
        es, settings, _token(settings, "desk", "Desk@example.org"), now=T0 + timedelta(days=2)
    )
    assert again.unsubscribed_at == T0


@pytest.mark.parametrize(
    "make_forgery",
    [
        pytest.param(lambda good: "desk." + "A" * 43, id="made-up signature"),
        pytest.param(lambda good: "other." + good.rpartition(".")[2], id="signature of another subscription"),
        pytest.param(lambda good: good[:-1] + ("A" if good[-1] != "A" else "B"), id="one character changed"),
        pytest.param(lambda good: "desk", id="no signature"),
        pytest.param(lambda good: "", id="empty"),
        pytest.param(lambda good: "nobody." + "A" * 43, id="unknown subscription"),
    ],
)
def test_forged_unsubscribe_tokens_are_refused(
    es: Elasticsearch, settings: Settings, tmp_path: Path, make_forgery: object
) -> None:
    path = _yaml(
        tmp_path,
        "subscriptions:\n  - {id: desk, email: desk@example.org}\n"
        "  - {id: other, email: other@example.org}\n",
    )
    sync_subscriptions(es, settings, load_subscriptions(path), now=SUBSCRIBED_AT)
    good = _token(settings, "desk", "desk@example.org")
    forged = make_forgery(good)  # type: ignore[operator]
    with pytest.raises(InvalidTokenError):
        unsubscribe(es, settings, forged, now=T0)
    assert all(s.active for s in list_subscriptions(es, settings))


def test_a_token_signed_with_another_secret_is_refused(es: Elasticsearch, settings: Settings) -> None:
    sync_subscriptions(
        es, settings, [SubscriptionConfig(id="desk", email="desk@example.org")], now=SUBSCRIBED_AT
    )
    foreign = make_token(b"some other installation", "desk", "desk@example.org")
    with pytest.raises(InvalidTokenError, match="wrong signature"):
        unsubscribe(es, settings, foreign, now=T0)


def test_unsubscribing_cancels_unsent_alerts(
    es: Elasticsearch, settings: Settings, smtp_server: LoopbackSMTPServer
) -> None:
    smtp_settings = settings.with_overrides(smtp_url=smtp_server.url)
    load_world(es, smtp_settings)
    smtp_server.stop()
    run_alerts(es, smtp_settings, now=T0, digests=False)  # everything pending: the server is down
    unsubscribe(es, smtp_settings, _token(smtp_settings, "ca-desk", "ca-desk@example.org"), now=T0)
    smtp_server.start()

    report = run_alerts(es, smtp_settings, now=T0 + timedelta(minutes=5), digests=False)

    entry = get(es, smtp_settings, story_delivery_id("ca-desk", "story-glendale-ca"))
    assert entry is not None and entry.status == "cancelled"
    recipients = {rcpt for _, rcpts in smtp_server.envelopes for rcpt in rcpts}
    assert "ca-desk@example.org" not in recipients and "everything@example.org" in recipients
    assert report.emails_sent == len(smtp_server.wait_for(report.emails_sent))


def test_yaml_with_a_bad_address_names_file_line_and_address(tmp_path: Path) -> None:
    path = _yaml(tmp_path, "subscriptions:\n  - id: desk\n    email: desk@@example\n")
    with pytest.raises(ConfigError) as error:
        load_subscriptions(path)
    message = str(error.value)
    assert (
        f"{path}:3: subscriptions[0].email:" in message
        and "'desk@@example' is not a valid e-mail address" in message
    )


def test_subscribe_commands(cli_env: Settings, es: Elasticsearch, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["subscribe", "add", "--id", "tx", "--email", "not-an-address"]) == 2
    err = capsys.readouterr().err
    assert "--email: 'not-an-address' is not a valid e-mail address" in err

    assert (
        main(
            [
                "subscribe",
                "add",
                "--id",
                "tx",
                "--email",
                "tx@example.org",
                "--state",
                "tx",
                "--event",
                "sign_or_join",
                "--mode",
                "daily",
                "--timezone",
                "America/Chicago",
            ]
        )
        == 0
    )
    assert "added tx: tx@example.org, daily, state in TX AND event in sign_or_join" in capsys.readouterr().out

    assert main(["subscribe", "sync", "--subscriptions", str(ALERTS / "subscriptions.yaml")]) == 0
    assert "9 created" in capsys.readouterr().out

    assert main(["subscribe", "list", "--json"]) == 0
    listed = {s["id"]: s for s in json.loads(capsys.readouterr().out)}
    assert listed["tx"]["origin"] == "cli" and listed["tx"]["filter"]["states"] == ["TX"]
    assert listed["hudson-daily"]["timezone"] == "America/New_York" and listed["hudson-daily"]["active"]

    token = _token(cli_env, "tx", "tx@example.org")
    assert main(["unsubscribe", token[:-3] + "AAA"]) == 1
    assert "nothing was changed" in capsys.readouterr().err
    assert main(["unsubscribe", token]) == 0
    assert "unsubscribed tx@example.org from tx" in capsys.readouterr().out

    assert main(["subscribe", "list"]) == 0
    table = capsys.readouterr().out
    assert "unsubscribed" in table and "10 subscription(s), 9 active" in table

    assert main(["subscribe", "remove", "ca-desk"]) == 0
    assert "in config/subscriptions.yaml" in capsys.readouterr().out
    assert get_subscription(es, cli_env, "ca-desk") is None
    assert main(["subscribe", "remove", "ca-desk"]) == 1
    assert "no subscription with id 'ca-desk'" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("query", "filters"),
    [
        ('"ICE contract"', {}),
        ("287(g)", {}),
        ("ICE AND (jail OR detainer)", {"states": ["NJ", "CO"]}),
        ("Glendale NOT Shameful", {"stances": ["neutral", "anti_cooperation"]}),
        ("contract", {"jurisdictions": ["Glendale, CA"], "events": ["terminate"]}),
    ],
)
def test_a_query_subscription_matches_exactly_what_search_finds(
    es: Elasticsearch, settings: Settings, query: str, filters: dict[str, list[str]]
) -> None:
    ids = index_items(es, settings)
    index_stories(es, settings)
    subscription = Subscription.from_config(
        SubscriptionConfig.model_validate(
            {"id": "q", "email": "q@example.org", "filter": {"query": query, **filters}}
        )
    )
    matched = set(match_items(es, settings, [subscription], list(ids.values())).by_subscription["q"])
    found = search_items(
        es,
        settings,
        query=query,
        jurisdiction=filters.get("jurisdictions"),
        state=filters.get("states"),
        stance=filters.get("stances"),
        event=filters.get("events"),
        limit=100,
        now=T0,
    )
    searched = {item.id for story in found.stories for item in story.items}
    assert matched == searched
    assert matched, "the case should match something"
