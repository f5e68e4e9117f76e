"""The intake gate and its configuration (no server needed): which entries are fetched, and
what a user sees when ``prefiltered``, ``fetch_budget`` or ``topic:`` is wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.config import (
    DEFAULT_TOPIC,
    ConfigError,
    PipelineConfig,
    SourceConfig,
    load_sources,
    load_watchlists_file,
)
from pipeline.models import FeedEntry
from pipeline.settings import REPO_ROOT
from pipeline.sources.gate import IntakeGate, link_words
from pipeline.sources.urls import canonical_url

GNEWS = "https://news.google.com/rss/search?q=%22ICE+contract%22&hl=en-US&gl=US&ceid=US:en"
SHIPPED = load_watchlists_file(REPO_ROOT / "config" / "watchlists.yaml")
GATE = IntakeGate.from_config(
    PipelineConfig(sources=[], watchlists=SHIPPED.watchlists, subscriptions=[], topic=tuple(SHIPPED.topic))
)
OUTLET = SourceConfig(id="herald", kind="rss", url="https://herald.example/feed")


def entry(title: str, summary: str = "", url: str = "https://herald.example/news/a1") -> FeedEntry:
    return FeedEntry(source_id="s", source_kind="rss", url=url, canonical_url=canonical_url(url),
                     title=title, summary=summary)  # fmt: skip


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (SourceConfig(id="g", kind="rss", url=GNEWS), True),
        (OUTLET, False),
        (SourceConfig(id="x", kind="x_search", query='"ICE contract"'), True),
        (SourceConfig(id="g", kind="rss", url=GNEWS, prefiltered=False), False),
        (
            SourceConfig(id="h", kind="rss", url="https://herald.example/search.rss?q=ice", prefiltered=True),
            True,
        ),
        (SourceConfig(id="y", kind="x_account", handle="yashar"), False),
    ],
)
def test_search_sources_hand_over_every_entry(source: SourceConfig, expected: bool) -> None:
    assert source.is_search is expected
    rink = entry("Ice rink opens early as cold snap grips the valley")
    assert (GATE.admit(source, rink).gate == "search") is expected


@pytest.mark.parametrize(
    ("title", "summary", "url", "gate"),
    [
        ("County jail ends federal immigration contract", "", "https://herald.example/a", "topic"),
        ("Sheriff signs deal to screen inmates", "Deputies will screen people booked into", "https://h.example/b",
         "topic"),
        ("Council ends ICE contract at city jail", "", "https://herald.example/c", "watchlist"),
        ("Board weighs new policy", "Supervisors met Tuesday.", "https://h.example/2025/06/sanctuary-policy-vote",
         "topic"),
        ("Ice rink opens early as cold snap grips the valley", "Skate rentals are $5.", "https://h.example/d",
         None),
        ("School lunch prices rise", "The district raised prices.", "https://h.example/e", None),
    ],
)  # fmt: skip
def test_outlet_entries_pass_a_broad_topic_gate_that_does_not_need_ice(
    title: str, summary: str, url: str, gate: str | None
) -> None:
    admission = GATE.admit(OUTLET, entry(title, summary, url))
    assert admission.gate == gate
    assert bool(admission.labels) is (gate == "watchlist")


def test_link_words_are_the_words_of_the_path() -> None:
    assert link_words("https://x.example/2025/06/county-ends-ice_contract.html?utm=1") == (
        "2025 06 county ends ice contract"
    )


def test_the_shipped_topic_rules_are_the_documented_default() -> None:
    assert tuple(SHIPPED.topic) == DEFAULT_TOPIC


def test_a_watchlists_file_without_topic_gets_the_default(tmp_path: Path) -> None:
    path = tmp_path / "watchlists.yaml"
    path.write_text("watchlists:\n  - id: w\n    rules: ['287(g)']\n")
    assert tuple(load_watchlists_file(path).topic) == DEFAULT_TOPIC


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("watchlists:\n  - {id: w, rules: ['287(g)']}\ntopic:\n  - detainer\n  - 'jail and'\n",
         "watchlists.yaml:5: topic[1]: rule 'jail and' does not parse"),
        ("watchlists:\n  - {id: w, rules: ['287(g)']}\ntopic: []\n", "watchlists.yaml:3: topic:"),
    ],
)  # fmt: skip
def test_a_bad_topic_rule_names_file_line_and_field(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "watchlists.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as error:
        load_watchlists_file(path)
    assert problem in str(error.value)


@pytest.mark.parametrize(
    ("field", "line"),
    [("prefiltered: maybe", "sources[0].prefiltered"), ("fetch_budget: 0", "sources[0].fetch_budget")],
)
def test_bad_intake_fields_name_file_line_and_field(tmp_path: Path, field: str, line: str) -> None:
    path = tmp_path / "sources.yaml"
    path.write_text(
        f"sources:\n  - id: s\n    kind: rss\n    url: https://herald.example/feed\n    {field}\n"
    )
    with pytest.raises(ConfigError) as error:
        load_sources(path)
    assert f"sources.yaml:5: {line}:" in str(error.value)


def test_fetch_budget_defaults_to_a_sensible_number() -> None:
    assert 20 <= OUTLET.fetch_budget <= 500
