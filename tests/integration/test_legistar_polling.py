"""The legistar source kind end to end: `muniwatch run --once` (``run_once``) against a fake Legistar
Web API on loopback (paging, OData filter on MatterLastModifiedUtc, a matter whose status changes
between polls), with the real Elasticsearch and alerts written to the outbox."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from pipeline.runner import run_once
from pipeline.settings import Settings
from pipeline.stories.clustering import StoryCandidate, assign_stories
from tests.support.fake_legistar import FakeLegistar, glendale_config

pytestmark = pytest.mark.integration

ICE_MATTER = 7001
ICE_TITLE = (
    "Resolution authorizing the City Manager to execute an agreement with U.S. Immigration and Customs "
    "Enforcement for the use of the City jail"
)


@pytest.fixture()
def legistar() -> Iterator[FakeLegistar]:
    fake = FakeLegistar(client="glendaleca")
    # 130 matters modified since the look-back: two pages of 100; one is about ICE, one about an ice rink.
    for number in range(1, 129):
        fake.add_matter(number, f"Approval of minutes and consent calendar item {number}",
                        modified=f"2025-06-0{1 + number % 3}T1{number % 10}:00:00.123")  # fmt: skip
    fake.add_matter(
        129, "Contract for resurfacing the ice rink at the Sports Complex", modified="2025-06-02T09:00:00"
    )
    fake.add_matter(ICE_MATTER, ICE_TITLE, modified="2025-06-03T16:30:00.45")
    # An old matter, before the first poll's look-back.
    fake.add_matter(9000, "Agreement with ICE on detainers (2019)", modified="2019-01-01T00:00:00")
    yield fake
    fake.close()


def _items(es: Elasticsearch, settings: Settings) -> list[dict[str, Any]]:
    es.indices.refresh(index=settings.index("items"))
    query = {"term": {"source_kind": "legistar"}}
    return [h["_source"] for h in es.search(index=settings.index("items"), query=query)["hits"]["hits"]]


def test_a_matter_is_one_item_updated_in_place_and_its_passage_alerts_exactly_once(
    es: Elasticsearch, settings: Settings, legistar: FakeLegistar, tmp_path: Path
) -> None:
    paths = glendale_config(tmp_path, legistar.base)
    first = run_once(settings, paths, now=datetime(2025, 6, 4, 8, tzinfo=UTC))
    assert first.ok, first.problems
    # Paged through all 130 recent matters, from the look-back on.
    assert [q["$skip"] for q in legistar.queries] == ["0", "100"]
    assert legistar.queries[0]["$filter"] == "MatterLastModifiedUtc ge datetime'2025-05-05T08:00:00'"
    assert first.sources["glendale-council"].fetched == 130
    (item,) = _items(es, settings)
    assert item["jurisdiction"]["key"] == "us-ca-city-glendale" and item["jurisdiction"]["state"] == "CA"
    assert item["record"]["matter_status"] == "Introduced" and item["event"] == "vote_or_proposal"
    assert item["record"]["url"].startswith("https://glendaleca.legistar.com/LegislationDetail.aspx?ID=7001")
    assert item["stance"] == "neutral" and item["relevant"] is True
    assert first.emails_sent == 1  # the new matter: a new story for the CA desk

    legistar.update(ICE_MATTER, modified="2025-06-06T10:00:00", MatterStatusName="Agenda Ready",
                    MatterAgendaDate="2025-06-10T00:00:00")  # fmt: skip
    on_agenda = run_once(settings, paths, now=datetime(2025, 6, 6, 12, tzinfo=UTC))
    # The cursor: only what changed since the newest modification seen.
    assert legistar.queries[-1]["$filter"] == "MatterLastModifiedUtc ge datetime'2025-06-03T19:00:00'"
    (item,) = _items(es, settings)
    assert item["record"]["matter_status"] == "Agenda Ready" and item["record"]["agenda_date"] == "2025-06-10"
    assert on_agenda.emails_sent == 0  # a step on the way is no news

    legistar.update(ICE_MATTER, modified="2025-06-10T22:15:00", MatterStatusName="Adopted",
                    MatterPassedDate="2025-06-10T00:00:00")  # fmt: skip
    passed = run_once(settings, paths, now=datetime(2025, 6, 11, 7, tzinfo=UTC))
    (item,) = _items(es, settings)
    assert (
        item["record"]["change"] == "status_changed" and item["record"]["previous_status"] == "Agenda Ready"
    )
    assert item["event"] == "sign_or_join" and item["record"]["passed_date"] == "2025-06-10"
    assert passed.emails_sent == 1  # the decision: exactly one alert

    again = run_once(settings, paths, now=datetime(2025, 6, 11, 9, tzinfo=UTC))
    assert again.emails_sent == 0 and len(_items(es, settings)) == 1
    assert len(list((settings.outbox).rglob("*.eml"))) == 2
    health = es.get(index=settings.index("sources"), id="glendale-council")["_source"]
    assert health["health"] == "ok" and health["cursor"] == "2025-06-10T22:15:00"

    # A news article on the same decision, tagged by the tagger, joins the matter's story.
    news = StoryCandidate(
        item_id="news-1",
        title="Glendale approves ICE jail agreement",
        text="The council voted.",
        jurisdiction_key="us-ca-city-glendale",
        event="sign_or_join",
        relevant=True,
        published_at=datetime(2025, 6, 11, 15, tzinfo=UTC),
    )
    assert assign_stories(es, settings, [news], now=datetime(2025, 6, 11, 16, tzinfo=UTC)) == {
        "news-1": item["story_id"]
    }


def test_a_legistar_server_error_is_the_source_failing_with_its_reason(
    es: Elasticsearch, settings: Settings, legistar: FakeLegistar, tmp_path: Path
) -> None:
    paths = glendale_config(tmp_path, legistar.base.replace("glendaleca", "nosuchclient"))
    summary = run_once(settings, paths, now=datetime(2025, 6, 4, 8, tzinfo=UTC))
    row = summary.sources["glendale-council"]
    assert row.errors == 1 and "404" in row.note
    health = es.get(index=settings.index("sources"), id="glendale-council")["_source"]
    assert health["health"] == "failing"
