"""Kibana Discover links: one builder for e-mails, the CLI and Airflow."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import unquote

import pytest

from pipeline.search.links import item_link, rison, story_link
from pipeline.search.query import query_link
from pipeline.settings import Settings

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("value", "encoded"),
    [
        ({"a": 0, "b": "foo", "c": "23skidoo"}, "(a:0,b:foo,c:'23skidoo')"),
        ([], "!()"),
        ([True, False, None], "!(!t,!f,!n)"),
        ("it's!", "'it!'s!!'"),
        ("", "''"),
        ("-h", "'-h'"),
        ("now-1y", "now-1y"),
        ('story_id:"abc"', "'story_id:\"abc\"'"),
        ({"x": [1.5, "a b"]}, "(x:!(1.5,'a b'))"),
    ],
)
def test_rison(value: object, encoded: str) -> None:
    assert rison(value) == encoded


def test_story_link_opens_discover_on_the_items_data_view(offline_settings: Settings) -> None:
    settings = offline_settings.with_overrides(kibana_url="https://kibana.example.org/base")
    link = story_link(settings, "0123abcd", since=datetime(2025, 3, 3, tzinfo=UTC))
    assert link.startswith("https://kibana.example.org/base/app/discover#/?_g=")
    readable = unquote(link)
    assert "dataViewId:mwunit-items" in readable
    assert "query:(language:kuery,query:'story_id:\"0123abcd\"')" in readable
    assert "time:(from:'2025-03-03T00:00:00+00:00',to:now)" in readable
    assert " " not in link and '"' not in link


def test_item_link_selects_one_document(offline_settings: Settings) -> None:
    assert "query:'_id:\"feed\"'" in unquote(item_link(offline_settings, "feed"))


def test_query_link_carries_the_exact_search_query(offline_settings: Settings) -> None:
    link = unquote(query_link(offline_settings, {"query": '"ICE contract"', "states": ["ca"], "stances": []}))
    assert "type:custom" in link and "alias:'muniwatch search (query: \"ICE contract\"; states: ca)'" in link
    assert "match_phrase" in link and "jurisdiction.state:!(CA)" in link and "relevant:!t" in link
    assert "match_phrase" in unquote(query_link(offline_settings, "ICE AND jail"))
