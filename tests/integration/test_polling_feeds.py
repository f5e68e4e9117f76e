"""Every fixture feed in tests/fixtures/feeds, served on loopback, fetched with the project's client
and parsed: the entries, rejects and problems must be what its ``.expected.yaml`` says."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from pipeline.config import SourceConfig, load_watchlists
from pipeline.fetch.client import SafeHTTPClient, TooLarge
from pipeline.rules.language import RuleSet
from pipeline.settings import Settings
from pipeline.sources.feeds import parse_feed
from tests.support.http import LoopbackHTTPServer

pytestmark = pytest.mark.integration

FEEDS = Path(__file__).resolve().parents[1] / "fixtures" / "feeds"
CASES = sorted(FEEDS.glob("*.expected.yaml"))
RULES = RuleSet.from_watchlists(load_watchlists())


def _fixture_file(expected: Path) -> Path:
    stem = expected.name.removesuffix(".expected.yaml")
    (found,) = [p for p in FEEDS.glob(f"{stem}.*") if not p.name.endswith(".expected.yaml")]
    return found


def serve(server: LoopbackHTTPServer, fixture: Path, path: str, content_type: str) -> str:
    body = (
        fixture.read_bytes()
        .replace(b"{{BASE}}", server.base_url.encode())
        .replace(b"{{HOST}}", server.host.encode())
    )
    return server.add(path, body=body, content_type=content_type)


@pytest.mark.parametrize("expected_file", CASES, ids=[c.name.removesuffix(".expected.yaml") for c in CASES])
def test_fixture_feed(
    expected_file: Path, offline_settings: Settings, http_server: LoopbackHTTPServer
) -> None:
    expected: dict[str, Any] = yaml.safe_load(expected_file.read_text(encoding="utf-8"))
    url = serve(http_server, _fixture_file(expected_file), expected["path"], expected["content_type"])
    source = SourceConfig(id="fixture", kind="rss", url=url, home_state="CA")
    fetched = SafeHTTPClient(offline_settings).get(url, expect="feed")
    feed = parse_feed(
        fetched.body, source=source, feed_url=fetched.final_url, content_type=fetched.content_type
    )

    if "version" in expected:
        assert feed.version == expected["version"]
    assert feed.platform == expected.get("platform")
    if "problem_contains" in expected:
        assert feed.problem is not None and expected["problem_contains"] in feed.problem
    else:
        assert feed.problem is None

    base = http_server.base_url
    assert len(feed.entries) == len(expected["entries"]), [e.title for e in feed.entries]
    for entry, want in zip(feed.entries, expected["entries"], strict=True):
        assert entry.source_id == "fixture" and entry.home_state == "CA"
        if "title" in want:
            assert entry.title == want["title"]
        if "title_startswith" in want:
            assert entry.title.startswith(want["title_startswith"])
        if "canonical" in want:
            assert entry.canonical_url == base + want["canonical"]
        if "canonical_absolute" in want:
            assert entry.canonical_url == want["canonical_absolute"]
        if "url" in want:
            assert entry.url == base + want["url"]
        if "published_at" in want:
            published = entry.published_at.isoformat() if entry.published_at else None
            assert published == want["published_at"]
        if "author" in want:
            assert entry.author == want["author"]
        if "summary_contains" in want:
            assert want["summary_contains"] in entry.summary
        assert bool(RULES.match(entry.title, entry.summary)) is want["matches"], entry.title
        if "post" in want:
            assert entry.post is not None and entry.kind == "post"
            post = want["post"]
            assert entry.post.platform == post["platform"]
            for key in ("handle", "post_id"):
                if key in post:
                    assert getattr(entry.post, key) == post[key]
            if "linked" in post:
                assert entry.post.linked_urls == [base + link for link in post["linked"]]
            if "linked_absolute" in post:
                assert entry.post.linked_urls == post["linked_absolute"]
            assert entry.post.text and entry.title
        else:
            assert entry.post is None and entry.kind == "article"

    assert len(feed.rejected) == len(expected["rejected"])
    for rejected, want in zip(feed.rejected, expected["rejected"], strict=True):
        assert rejected.stage == "poll" and rejected.source_id == "fixture"
        assert want["reason_contains"] in rejected.reason


def test_huge_feed_is_refused_with_the_reason(
    offline_settings: Settings, http_server: LoopbackHTTPServer
) -> None:
    item = (
        "<item><title>Council debates ICE contract, part {n}</title><link>{base}/n/{n}</link>"
        "<description>" + "word " * 200 + "</description></item>"
    )
    body = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Huge</title>'
        + "".join(item.format(n=n, base=http_server.base_url) for n in range(3000))
        + "</channel></rss>"
    ).encode()
    assert len(body) > 3 * 1024 * 1024
    url = http_server.add("/huge.xml", body=body, content_type="application/rss+xml", gzip=True)
    with pytest.raises(TooLarge) as raised:
        SafeHTTPClient(offline_settings, max_bytes=2 * 1024 * 1024).get(url, expect="feed")
    assert "cap" in raised.value.reason
