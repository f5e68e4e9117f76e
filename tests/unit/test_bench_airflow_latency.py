"""The Airflow alert-latency part of the benchmark: the headline says which path it measured."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from bench.airflow_latency import FeedServer, distinct_pages, milestones
from bench.cli import format_result
from bench.pages import TEASERS
from bench.run import summarise
from pipeline.fetch.extract import extract_article
from pipeline.tagging import TagInput, tag_item
from tests.unit.test_bench_harness import raw_result

pytestmark = pytest.mark.unit

T0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


def _raw(airflow: dict[str, Any]) -> dict[str, Any]:
    return raw_result(alert_latency_airflow=airflow)


def test_the_headline_latency_is_the_airflow_one_when_measured() -> None:
    result = summarise(_raw({"measured": True, "runs": 5, "p50_s": 14.123, "p95_s": 21.987}))
    assert (result["alert_latency_p50_s"], result["alert_latency_p95_s"]) == (14.12, 21.99)
    assert result["alert_latency_path"] == "airflow_event_driven"
    assert result["alert_latency_run_p95_s"] == 4.0
    assert result["targets"]["alert_latency_airflow_p95_s"].startswith("met")
    assert result["alert_latency_airflow_note"] is None
    assert "headline, through Airflow (event-driven)): p50 14.12 s, p95 21.99 s" in format_result(result)


def test_without_any_latency_figure_nothing_is_invented() -> None:
    raw = _raw({"measured": False, "reason": "Airflow did not start"})
    raw["alert_latency_run"] = {"runs": 5, "emails": 0}
    result = summarise(raw)
    assert result["alert_latency_p95_s"] is None and result["alert_latency_path"] is None
    assert "Airflow did not start" in format_result(result)


def test_milestones_follow_each_entry_through_the_three_dags() -> None:
    def run(dag: str, kind: str, queued: float, end: float | None) -> dict[str, Any]:
        return {"dag_id": f"muniwatch_{dag}", "run_type": kind, "state": "success",
                "queued_at": T0 + timedelta(seconds=queued), "start_date": None,
                "end_date": None if end is None else T0 + timedelta(seconds=end)}  # fmt: skip

    runs = [
        run("poll", "scheduled", 1, 3),  # the five-minute slot: not the watcher's run
        run("poll", "asset_triggered", 6, 10),
        run("enrich", "asset_triggered", 10, 13),
        run("alerts", "asset_triggered", 13, None),  # still finishing when the e-mail arrived
        run("poll", "asset_triggered", 106, 111),
        run("enrich", "asset_triggered", 111, 115),
        run("alerts", "asset_triggered", 115, 117),
    ]
    found = milestones(runs, [(T0, 15.0), (T0 + timedelta(seconds=100), 17.0)])
    assert found == {"poll_queued": 6.0, "poll_done": 10.5, "enrich_done": 14.0, "email": 16.0}


def test_the_feed_server_tells_when_someone_holds_the_current_version() -> None:
    feeds = FeedServer()
    base = feeds.start()
    try:
        feeds.put("/feed.xml", b"<rss/>")
        first = httpx.get(base + "/feed.xml")
        assert not feeds.revalidated("/feed.xml")
        again = httpx.get(base + "/feed.xml", headers={"If-None-Match": first.headers["etag"]})
        assert again.status_code == 304 and feeds.revalidated("/feed.xml")
        published = feeds.put("/feed.xml", b"<rss><channel/></rss>")
        assert not feeds.revalidated("/feed.xml"), "a new version needs a new look"
        stale = httpx.get(base + "/feed.xml", headers={"If-None-Match": first.headers["etag"]})
        assert stale.status_code == 200
        # what a missing e-mail is reported with: the looks at the feed after the publication
        assert [status for _, status in feeds.requests_since("/feed.xml", published)] == [200]
    finally:
        feeds.stop()


def test_each_timed_entry_is_a_story_of_its_own() -> None:
    """A repeated headline, or the same jurisdiction taking the same step again, would be grouped
    into the earlier story and never e-mailed again."""
    pages = distinct_pages(21, seed=8)
    assert len(pages) == 21 and len({p.title for p in pages}) == 21
    events = set()
    for page in pages:
        article = extract_article(page.body, "http://127.0.0.1:1" + page.path)
        tags = tag_item(TagInput(id=page.path, title=article.title, text=article.text, home_state="CA"))
        assert tags.relevant and tags.jurisdiction is not None, page.title
        assert tags.jurisdiction.state == "CA", page.title
        events.add((tags.jurisdiction.key, tags.event))
        assert not [t for t in TEASERS if t in article.text], f"{page.path}: site teasers in the text"
    assert len(events) == 21
