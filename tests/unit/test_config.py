"""Configuration files: the shipped ones load; bad ones fail naming file, line, field and rule.

Each tests/fixtures/config/<kind>-*.yaml carries its expected error in its first line
(``# expect: <line>: <message start>``; line 0 means the message names the file only).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from pipeline.config import (
    DEFAULT_SOURCES,
    DEFAULT_WATCHLISTS,
    ConfigError,
    load_sources,
    load_subscriptions,
    load_watchlists,
)
from pipeline.rules.language import RuleSet, parse_rule

pytestmark = pytest.mark.unit

CONFIG_FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "config"
LOADERS = {"sources": load_sources, "watchlists": load_watchlists, "subscriptions": load_subscriptions}
BAD = sorted(p for p in CONFIG_FIXTURES.glob("*.yaml") if p.read_text().startswith("# expect:"))


@pytest.mark.parametrize("path", BAD, ids=[p.stem for p in BAD])
def test_bad_configuration_names_file_line_field_and_reason(path: Path) -> None:
    header = path.read_text(encoding="utf-8").splitlines()[0].removeprefix("# expect:").strip()
    line, _, message = header.partition(": ")
    loader = LOADERS[path.stem.split("-")[0]]
    with pytest.raises(ConfigError) as raised:
        loader(path)
    (problem,) = raised.value.problems
    prefix = f"{path}:{line}: " if line != "0" else f"{path}: "
    assert problem.startswith(prefix + message), problem


def test_shipped_sources_load_and_cover_what_the_issue_asks() -> None:
    sources = load_sources(DEFAULT_SOURCES)
    kinds = {s.kind for s in sources}
    assert kinds == {"rss", "x_account", "x_search", "287g_list", "legistar"}
    lists = {s.id: s.record_list for s in sources if s.kind == "287g_list"}
    assert lists == {"ice-287g-participating": "participating", "ice-287g-pending": "pending"}
    assert {s.x_handle for s in sources if s.kind == "x_account"} >= {"yashar", "libsoftiktok"}
    urls = [s.url or "" for s in sources if s.kind == "rss"]
    assert all(u.startswith("https://") for u in urls)
    assert any("news.google.com/rss/search" in u for u in urls)
    assert any(("/@" in u and u.endswith(".rss")) or "/tags/" in u for u in urls)  # Mastodon
    assert any("bsky.app/profile/" in u and u.endswith("/rss") for u in urls)  # Bluesky
    assert len({s.group for s in sources}) > 1


def test_shipped_watchlist_catches_the_story_kinds_and_lets_other_ice_go() -> None:
    rules = RuleSet.from_watchlists(load_watchlists(DEFAULT_WATCHLISTS))
    headlines = yaml.safe_load((CONFIG_FIXTURES / "watchlist-headlines.yaml").read_text(encoding="utf-8"))
    missed = [h for h in headlines["match"] if not rules.match(h)]
    assert missed == []
    wrongly = {h: rules.match(h) for h in headlines["no_match"] if rules.match(h)}
    assert wrongly == {}


def test_every_shipped_rule_round_trips() -> None:
    for watchlist in load_watchlists(DEFAULT_WATCHLISTS):
        for rule in watchlist.rules:
            parsed = parse_rule(rule)
            assert parse_rule(str(parsed)) == parsed
