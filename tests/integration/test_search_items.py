"""``search_items`` and ``muniwatch search`` on the story fixtures, indexed on the real server."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch

from pipeline.cli import main
from pipeline.search.query import SearchResult, item_filter_query, query_link, search_items
from pipeline.settings import Settings
from tests.integration.test_stories_grouping import load_fixtures, process

pytestmark = pytest.mark.integration

NOW = datetime(2025, 3, 7, 12, 0, tzinfo=UTC)


@pytest.fixture()
def indexed(es: Elasticsearch, settings: Settings, fixtures_dir: Path) -> Settings:
    process(es, settings, load_fixtures(fixtures_dir))
    return settings


def titles(result: SearchResult) -> list[str]:
    return [item.title for story in result.stories for item in story.items]


def test_text_query_finds_items_grouped_by_story(es: Elasticsearch, indexed: Settings) -> None:
    result = search_items(es, indexed, query="ICE AND (jail OR detention)", now=NOW)
    # The vote, the Pinecrest decision and the first debate a month earlier (its background
    # paragraph mentions the jail): three stories.
    assert result.total_stories == len(result.stories) == 3
    assert sorted((s.jurisdiction or "", s.event or "") for s in result.stories) == [
        ("Harbor Vale, CA", "terminate"),
        ("Harbor Vale, CA", "vote_or_proposal"),
        ("Pinecrest County, CA", "terminate"),
    ]
    harbor = next(s for s in result.stories if s.event == "terminate" and s.jurisdiction == "Harbor Vale, CA")
    assert harbor.item_count == 7 and harbor.event == "terminate"
    # Four of its items say "ICE" in capitals; the post only has "ice-vote" in a link, which a
    # capitals term does not match (as in the watchlists), and the follow-up no ICE at all.
    assert len(harbor.items) == 4
    dates = [item.published_at for item in harbor.items]
    assert dates == sorted(dates, reverse=True)
    assert any("<em>" in fragment for item in harbor.items for fragment in item.highlights)
    assert harbor.kibana_url.startswith(indexed.kibana_url + "/app/discover#/")
    # Not relevant items are never returned, even when the text matches.
    assert "California town to stop jailing ICE detainees" not in titles(result)


def test_rule_syntax_phrases_and_not(es: Elasticsearch, indexed: Settings) -> None:
    found = search_items(es, indexed, query='"safe-zone policy"', now=NOW)
    assert titles(found) == ["School board adopts safe-zone policy for campuses"]
    excluded = search_items(es, indexed, query="ICE NOT Pinecrest", now=NOW)
    assert {s.jurisdiction for s in excluded.stories} == {"Harbor Vale, CA"}


@pytest.mark.parametrize(
    ("filters", "expected_places"),
    [
        ({"jurisdiction": "Pinecrest County"}, {"Pinecrest County, CA"}),
        ({"jurisdiction": "harbor vale, ca"}, {"Harbor Vale, CA"}),
        ({"jurisdiction": "us-ca-county-pinecrest"}, {"Pinecrest County, CA"}),
        ({"state": "ca"}, {"Harbor Vale, CA", "Pinecrest County, CA"}),
        ({"state": "NY"}, set()),
        ({"stance": "anti_cooperation"}, {"Harbor Vale, CA"}),
        ({"event": "policy_change"}, {"Harbor Vale, CA"}),
    ],
)
def test_filters(
    es: Elasticsearch, indexed: Settings, filters: dict[str, str], expected_places: set[str]
) -> None:
    result = search_items(es, indexed, now=NOW, **filters)  # type: ignore[arg-type]
    assert {s.jurisdiction for s in result.stories} == expected_places


def test_stance_filter_returns_only_items_with_that_stance(es: Elasticsearch, indexed: Settings) -> None:
    result = search_items(es, indexed, stance="anti_cooperation", now=NOW)
    assert sorted(titles(result)) == [
        "Council pulls the plug on ICE beds at city jail",
        "School board adopts safe-zone policy for campuses",
    ]


def test_since_accepts_spans_and_dates(es: Elasticsearch, indexed: Settings) -> None:
    recent = search_items(es, indexed, since="2d", now=NOW)
    assert sorted(titles(recent)) == [
        "Families scramble as Harbor Vale detainees face transfer",
        "School board adopts safe-zone policy for campuses",
    ]
    assert titles(search_items(es, indexed, since="2025-03-06", now=NOW)) == [
        "Families scramble as Harbor Vale detainees face transfer"
    ]
    everything = search_items(es, indexed, now=NOW)
    assert everything.total_items == 9 and everything.total_stories == 4  # relevant items only


def test_limit_counts_stories(es: Elasticsearch, indexed: Settings) -> None:
    result = search_items(es, indexed, limit=1, now=NOW)
    assert len(result.stories) == 1 and result.total_stories == 4


def test_subscriptions_and_search_share_one_query(es: Elasticsearch, indexed: Settings) -> None:
    """What alerts run (item_filter_query) finds the same items as the search."""
    query = item_filter_query(
        "ICE AND jail", ["Harbor Vale, CA"], ["CA"], ["neutral", "anti_cooperation"], ["terminate"]
    )
    ids = {h["_id"] for h in es.search(index=indexed.index("items"), query=query, size=50)["hits"]["hits"]}
    result = search_items(
        es,
        indexed,
        query="ICE AND jail",
        jurisdiction="Harbor Vale, CA",
        state="CA",
        stance=["neutral", "anti_cooperation"],
        event="terminate",
        limit=50,
        now=NOW,
    )
    assert ids and len(ids) == result.total_items
    assert {item.id for story in result.stories for item in story.items} <= ids
    link = query_link(indexed, {"query": "ICE AND jail", "states": ["CA"]})
    assert "jurisdiction.state" in link and "type:custom" in link


def test_search_command_prints_json(
    indexed: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MUNIWATCH_INDEX_PREFIX", indexed.index_prefix)
    monkeypatch.setenv("MUNIWATCH_ES_URL", indexed.es_url)
    assert main(["search", "ICE AND jail", "--state", "CA", "--event", "terminate", "--json"]) == 0
    output = json.loads(capsys.readouterr().out)
    assert output["total_stories"] == 2
    assert {s["jurisdiction"] for s in output["stories"]} == {"Harbor Vale, CA", "Pinecrest County, CA"}
    assert all(item["url"].startswith("https://") for s in output["stories"] for item in s["items"])


def test_search_command_prints_a_readable_listing(
    indexed: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MUNIWATCH_INDEX_PREFIX", indexed.index_prefix)
    monkeypatch.setenv("MUNIWATCH_ES_URL", indexed.es_url)
    assert main(["search", '"safe-zone"', "--limit", "3"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "1 matching items in 1 stories"
    assert "School board adopts safe-zone policy for campuses" in out and "«safe-zone»" in out
    assert "Kibana: http" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["search", "ICE AND (jail"], "search:"),
        (["search", "ICE", "--since", "last tuesday"], "--since 'last tuesday'"),
    ],
)
def test_search_command_explains_bad_input(
    indexed: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    message: str,
) -> None:
    monkeypatch.setenv("MUNIWATCH_INDEX_PREFIX", indexed.index_prefix)
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_state_names_in_any_case_are_read_as_their_usps_code(es: Elasticsearch, indexed: Settings) -> None:
    by_code = search_items(es, indexed, state="CA", now=NOW)
    for spelled in ("California", "california", " CALIFORNIA "):
        by_name = search_items(es, indexed, state=spelled, now=NOW)
        assert titles(by_name) == titles(by_code) and by_name.total_items > 0


def test_a_287g_highlight_is_shown_once_and_whole(
    es: Elasticsearch, settings: Settings, fixtures_dir: Path
) -> None:
    (base,) = [f for f in load_fixtures(fixtures_dir) if f["id"] == "a1-wire"]
    title = "Harbor Vale sheriff renews 287(g) agreement"
    # As trafilatura extracts it, the text starts with the headline: the title's highlight repeats.
    text = f"{title}\n\nThe sheriff renewed the 287(g) agreement with ICE on Monday. " + base["text"]
    process(es, settings, [{**base, "title": title, "text": text}])
    (story,) = search_items(es, settings, query="287(g)", now=NOW).stories
    (item,) = story.items
    assert item.highlights, "the match is highlighted"
    joined = " ".join(item.highlights)
    assert "<em>287(g)</em>" in joined and "<em>287(g</em>" not in joined
    plain = [" ".join(f.replace("<em>", "").replace("</em>", "").split()) for f in item.highlights]
    for n, fragment in enumerate(plain):
        others = plain[:n] + plain[n + 1 :]
        assert not any(fragment in other for other in others), f"shown twice: {fragment}"
