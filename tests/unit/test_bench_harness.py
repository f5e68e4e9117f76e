"""The benchmark's building blocks (no timing asserted: benchmarks are not tests)."""

from __future__ import annotations

from typing import Any

import pytest

from bench import reference
from bench.cli import format_result
from bench.corpus import BENCH_RULES, alert_pages, build_pages, pipeline_corpus, polling_feeds
from bench.pages import TEASERS
from bench.run import summarise
from pipeline.config import SourceConfig
from pipeline.fetch.extract import extract_article
from pipeline.rules.language import RuleSet
from pipeline.sources.feeds import parse_feed

pytestmark = pytest.mark.unit

RULES = RuleSet([("bench", rule) for rule in BENCH_RULES])
SOURCE = SourceConfig(id="bench", kind="rss", url="http://127.0.0.1:1/f/0.xml")


def test_corpus_is_deterministic_varied_and_every_entry_passes_the_watchlist() -> None:
    pages = build_pages(60)
    assert [p.body for p in pages] == [p.body for p in build_pages(60)]
    assert 0.5 < sum(p.relevant for p in pages) / len(pages) < 0.9
    sizes = sorted(len(p.body) for p in pages)
    assert sizes[0] * 3 < sizes[-1]  # short and long pages, light and heavy templates
    assert all(RULES.match(p.title, p.summary) for p in pages)


def test_pages_weigh_what_news_pages_weigh_and_the_article_still_comes_out_clean() -> None:
    import lxml.html

    pages = build_pages(40)
    elements = sorted(sum(1 for _ in lxml.html.fromstring(p.body).iter()) for p in pages)
    assert elements[len(elements) // 2] >= 500  # real news pages: median ~800 (bench/reference.py)
    assert any(len(p.body) > 200_000 for p in pages)  # the tail carrying framework state
    for page in pages:
        article = extract_article(page.body, "http://127.0.0.1:1" + page.path)
        assert article.has_article, page.path
        assert page.summary[:60] in article.text
        for chrome in ("More stories", "Advertisement", "Most read", "Get the morning briefing", "Trending:"):
            assert chrome not in article.text, (page.path, chrome)
        # teasers shared by every page would make unrelated stories look alike to the clustering
        assert not [t for t in TEASERS if t in article.text], page.path


def test_reference_pages_with_a_wrong_checksum_are_refused(tmp_path: Any) -> None:
    (tmp_path / reference.ARCHIVE).write_bytes(b"not the archive")
    with pytest.raises(reference.ReferenceUnavailable, match=r"SHA-256 .* is not the pinned"):
        reference.reference_pages(tmp_path)


def test_pipeline_feeds_list_every_page_once() -> None:
    corpus = pipeline_corpus("http://127.0.0.1:1", 45, feeds=4)
    urls = []
    for path, body in corpus.feeds.items():
        feed = parse_feed(body, source=SOURCE, feed_url=f"http://127.0.0.1:1{path}")
        assert not feed.rejected
        urls += [entry.url for entry in feed.entries]
    assert sorted(urls) == sorted(f"http://127.0.0.1:1{path}" for path in corpus.pages)


def test_polling_feeds_match_rarely() -> None:
    feeds = polling_feeds("http://127.0.0.1:1", 20, entries=5, matching_every=10)
    matching = 0
    for body in feeds.values():
        entries = parse_feed(body, source=SOURCE, feed_url=SOURCE.url or "").entries
        assert len(entries) == 5
        matching += sum(bool(RULES.match(e.title, e.summary)) for e in entries)
    assert matching == 2


def test_alert_pages_are_distinct_california_stories() -> None:
    pages = alert_pages(6)
    assert len({p.title for p in pages}) == 6
    assert all(", CA —" in p.body.decode() or "CA" in p.body.decode() for p in pages)


def raw_result(**overrides: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "machine": {"cpu": "test cpu", "cores": 2},
        "extract_only": {"docs_per_s": 100.0},
        "pipeline": {"docs_per_s": 60.0, "worker_peak_rss_mb": 300.0, "pool_peak_rss_mb": 200.0},
        "polling": {"first": {"feeds_per_s": 50.0}, "conditional": {"feeds_per_s": 250.0}},
        "tag_items_per_s": 210.0,
        "alert_latency_run": {"p50_s": 3.0, "p95_s": 4.0, "peak_rss_mb": 150.0},
        "alert_latency_airflow": {"measured": False, "reason": "no stack"},
    }
    raw.update(overrides)
    return raw


def test_summary_has_the_design_keys_and_says_which_targets_are_met() -> None:
    result = summarise(raw_result())
    keys = ["extract_only_docs_per_s", "pipeline_docs_per_s", "pipeline_vs_extract_only", "poll_feeds_per_s"]
    keys += ["alert_latency_p50_s", "alert_latency_p95_s", "peak_rss_mb", "tag_items_per_s", "machine"]
    for key in keys:
        assert key in result
    assert result["pipeline_vs_extract_only"] == 0.6
    assert result["targets"]["pipeline_vs_extract_only"].startswith("missed")
    assert result["targets"]["poll_feeds_per_s"].startswith("met")
    assert result["peak_rss_mb"] == 300.0
    # An unmeasured figure stays None and is said so, never invented; the headline latency is then
    # the `muniwatch run` one, and says so.
    assert result["alert_latency_airflow_p95_s"] is None
    assert (result["alert_latency_p95_s"], result["alert_latency_path"]) == (4.0, "muniwatch_run_once")
    assert result["targets"]["alert_latency_airflow_p95_s"] == "not measured"
    text = format_result(result)
    assert "not measured" in text and "no stack" in text


def test_a_command_s_peak_memory_is_its_own_not_the_benchmark_s() -> None:
    import os
    import sys

    from bench.measure import run_measured

    corpus = bytearray(400_000_000)  # the benchmark process holds its page corpus
    # (sampled every 20 ms: the child holds its memory a moment, as a `muniwatch run` does)
    child = "import time; x = bytearray(60_000_000); time.sleep(0.3); print('done')"
    done = run_measured([sys.executable, "-c", child], dict(os.environ))
    assert done.returncode == 0 and done.output == b"done\n"
    assert 60 <= done.peak_rss_mb < 300, done.peak_rss_mb
    del corpus
