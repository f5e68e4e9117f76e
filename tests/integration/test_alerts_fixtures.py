"""Loading the alert fixtures (tests/fixtures/alerts) into a test prefix, shared by the alert tests;
and the check that every fixture document fits the strict mappings as they are today."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import yaml
from elasticsearch import Elasticsearch

from pipeline.alerts.subscriptions import sync_subscriptions
from pipeline.config import load_subscriptions
from pipeline.models import item_id
from pipeline.settings import REPO_ROOT, Settings
from pipeline.store.indices import ensure_index

pytestmark = pytest.mark.integration

ALERTS = REPO_ROOT / "tests" / "fixtures" / "alerts"
# The fixture items were indexed at 18:00Z on 9 June 2025; subscriptions exist since 17:00Z.
SUBSCRIBED_AT = datetime(2025, 6, 9, 17, 0, tzinfo=UTC)
T0 = datetime(2025, 6, 9, 18, 5, tzinfo=UTC)


def read_jsonl(name: str) -> list[dict[str, Any]]:
    lines = (ALERTS / name).read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def index_items(es: Elasticsearch, settings: Settings, name: str = "items.jsonl") -> dict[str, str]:
    """Index fixture items (``_id`` from canonical_url); returns canonical_url → item id."""
    ensure_index(es, settings, "items")
    ids = {}
    for doc in read_jsonl(name):
        ids[doc["canonical_url"]] = item_id(doc["canonical_url"])
        es.index(index=settings.index("items"), id=ids[doc["canonical_url"]], document=doc)
    es.indices.refresh(index=settings.index("items"))
    return ids


def index_stories(es: Elasticsearch, settings: Settings, name: str = "stories.jsonl") -> list[str]:
    ensure_index(es, settings, "stories")
    story_ids = []
    for doc in read_jsonl(name):
        es.index(index=settings.index("stories"), id=doc["story_id"], document=doc)
        story_ids.append(doc["story_id"])
    es.indices.refresh(index=settings.index("stories"))
    return story_ids


def sync_fixture_subscriptions(
    es: Elasticsearch, settings: Settings, path: Path = ALERTS / "subscriptions.yaml"
) -> dict[str, int]:
    return sync_subscriptions(es, settings, load_subscriptions(path), now=SUBSCRIBED_AT)


def load_world(es: Elasticsearch, settings: Settings) -> None:
    """Subscriptions, items and stories of the fixture set."""
    sync_fixture_subscriptions(es, settings)
    index_items(es, settings)
    index_stories(es, settings)


def story_key(name: str) -> str:
    """Expectation files write an unclustered item's story as ``item:<canonical_url>``."""
    return item_id(name.removeprefix("item:")) if name.startswith("item:") else name


def expected() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ALERTS / "expected.yaml").read_text(encoding="utf-8"))
    return data


def by_subscription_and_story(messages: list[EmailMessage]) -> dict[tuple[str, str], list[EmailMessage]]:
    grouped: dict[tuple[str, str], list[EmailMessage]] = {}
    for message in messages:
        # .strip(): a header too long for one line is folded before its value, and Python's parser
        # keeps the fold's space
        key = (str(message["X-Muniwatch-Subscription"]).strip(), str(message["X-Muniwatch-Story"]).strip())
        grouped.setdefault(key, []).append(message)
    return grouped


def item_doc(es: Elasticsearch, settings: Settings, canonical_url: str) -> dict[str, Any]:
    source: dict[str, Any] = es.get(index=settings.index("items"), id=item_id(canonical_url))["_source"]
    return source


@pytest.mark.parametrize(
    ("items", "stories"),
    [
        ("items.jsonl", "stories.jsonl"),
        ("late_items.jsonl", None),
        ("hostile_items.jsonl", "hostile_stories.jsonl"),
    ],
)
def test_fixture_documents_fit_the_strict_mappings(
    es: Elasticsearch, settings: Settings, items: str, stories: str | None
) -> None:
    ids = index_items(es, settings, items)
    assert es.count(index=settings.index("items"))["count"] == len(ids)
    if stories:
        assert len(index_stories(es, settings, stories)) == len(read_jsonl(stories))


def test_fixture_subscriptions_load_and_expectations_name_them() -> None:
    subscriptions = {s.id for s in load_subscriptions(ALERTS / "subscriptions.yaml")}
    wanted = expected()
    assert set(wanted["immediate"]) | set(wanted["daily"]) <= subscriptions
