"""Property-based fuzzing of feed handling: random and mutated feed bytes into
``pipeline.sources.feeds.parse_feed`` never raise; whatever comes out is well-formed (http(s) links,
no control characters, dates in range, rejects with a reason)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.config import SourceConfig
from pipeline.settings import REPO_ROOT
from pipeline.sources.feeds import ParsedFeed, detect_platform, html_to_text, parse_feed

pytestmark = pytest.mark.unit

SOURCE = SourceConfig(id="fuzz", kind="rss", url="https://fuzz.example.org/feed.xml")
SEEDS = [p.read_bytes() for p in sorted((REPO_ROOT / "tests" / "fixtures" / "feeds").glob("*"))
         if p.suffix in {".xml", ".rss", ".rdf", ".atom"}]  # fmt: skip
CONTROL = {chr(c) for c in range(32) if chr(c) not in "\t\n\r"} | {"\x7f"}
EARLIEST, LATEST = datetime(1990, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)
FEED_URLS = st.sampled_from([
    "https://fuzz.example.org/feed.xml", "https://mastodon.example/@someone.rss",
    "https://bsky.app/profile/someone.example/rss", "https://fuzz.example.org/tags/ice.rss",
])  # fmt: skip
CONTENT_TYPES = st.sampled_from([None, "application/rss+xml", "text/xml; charset=latin-1",
                                 "application/atom+xml; charset=utf-8", "text/html"])  # fmt: skip


def check(feed: ParsedFeed) -> None:
    for entry in feed.entries:
        assert entry.url.startswith(("http://", "https://"))
        assert entry.canonical_url.startswith(("http://", "https://"))
        assert not CONTROL & set(entry.title + entry.summary)
        assert entry.published_at is None or EARLIEST <= entry.published_at <= LATEST
        if entry.post is not None:
            assert all(link.startswith(("http://", "https://")) for link in entry.post.linked_urls)
    for rejected in feed.rejected:
        assert rejected.reason and rejected.source_id == "fuzz"


SPLICES = [
    b"", b"<", b">", b"&", b"&amp;", b"\x00", b"\xff\xfe", b"]]>", b"<![CDATA[", b"<item>", b"</entry>",
    b"<link>javascript:x</link>", b"<pubDate>Fri, 31 Dec 9999</pubDate>", b"\r\n", b"\xc3(",
]  # fmt: skip


def _mutate(seed: bytes, cuts: list[tuple[int, int, bytes]]) -> bytes:
    data = bytearray(seed)
    for position, length, insert in cuts:
        if not data:
            break
        start = position % len(data)
        data[start : start + length] = insert
    return bytes(data)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=st.binary(max_size=2048), feed_url=FEED_URLS, content_type=CONTENT_TYPES)
def test_random_bytes_never_raise(body: bytes, feed_url: str, content_type: str | None) -> None:
    check(parse_feed(body, source=SOURCE, feed_url=feed_url, content_type=content_type))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.sampled_from(SEEDS),
    cuts=st.lists(st.tuples(st.integers(0, 2**20), st.integers(0, 64), st.sampled_from(SPLICES)), max_size=5),
    feed_url=FEED_URLS,
    content_type=CONTENT_TYPES,
)  # fmt: skip
def test_mutated_fixture_feeds_never_raise(
    seed: bytes, cuts: list[tuple[int, int, bytes]], feed_url: str, content_type: str | None
) -> None:
    check(parse_feed(_mutate(seed, cuts), source=SOURCE, feed_url=feed_url, content_type=content_type))


@settings(max_examples=200, deadline=None)
@given(markup=st.text(max_size=500))
def test_html_to_text_returns_clean_single_spaced_text(markup: str) -> None:
    text = html_to_text(markup)
    assert not CONTROL & set(text)
    assert "  " not in text and text == text.strip()


@given(url=st.text(max_size=200))
def test_platform_detection_takes_any_string(url: str) -> None:
    assert detect_platform(url) in {None, "mastodon", "bluesky"}


def test_seeds_are_there() -> None:
    assert len(SEEDS) >= 8


def test_a_feed_that_crashes_feedparser_is_reported_not_raised() -> None:
    """Found by the fuzzer above: this mutation of rss20.xml makes feedparser's loose parser raise
    KeyError('links'). The poll must get a "not a feed" problem it can put in the source's health."""
    seed = (REPO_ROOT / "tests" / "fixtures" / "feeds" / "rss20.xml").read_bytes()
    body = _mutate(seed, [(0, 16, b""), (109, 26, b">"), (403158, 0, b"</entry>")])
    feed = parse_feed(body, source=SOURCE, feed_url="https://fuzz.example.org/feed.xml")
    assert feed.entries == []
    assert feed.problem is not None and feed.problem.startswith("not a feed: the parser failed")
