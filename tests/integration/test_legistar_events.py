"""A Legistar matter whose ``MatterAgendaDate`` is empty takes its agenda date from the meeting
(``/events``, ``/events/{id}/eventitems``) that lists it, and the alert says so; without ``/events``
the matter is still written, without that date, and the poll notes why."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from pipeline.runner import run_once
from pipeline.settings import Settings
from tests.support.fake_legistar import FakeLegistar, glendale_config

pytestmark = pytest.mark.integration

ICE = (
    "Resolution approving an intergovernmental service agreement with U.S. Immigration and Customs "
    "Enforcement"
)
SHERIFF = "Resolution on the Sheriff's 287(g) agreement with ICE"


@pytest.fixture()
def legistar() -> Iterator[FakeLegistar]:
    fake = FakeLegistar(client="glendaleca")
    fake.add_matter(7001, ICE, modified="2025-06-03T16:30:00", intro="2025-06-03T00:00:00")
    fake.add_matter(7002, SHERIFF, modified="2025-06-03T17:00:00", intro="2025-06-03T00:00:00")
    # A meeting before the matters were introduced lists another matter; the council's meeting of
    # 17 June lists 7001 (7002 is on no meeting yet).
    fake.events.append({"EventId": 50, "EventDate": "2025-05-20T00:00:00", "EventBodyName": "City Council",
                        "items": [{"EventItemId": 500, "EventItemMatterId": 6000}]})  # fmt: skip
    fake.events.append({"EventId": 51, "EventDate": "2025-06-17T00:00:00", "EventBodyName": "City Council",
                        "items": [{"EventItemId": 510, "EventItemMatterId": None},
                                  {"EventItemId": 511, "EventItemMatterId": 7001}]})  # fmt: skip
    yield fake
    fake.close()


def _records(es: Elasticsearch, settings: Settings) -> dict[str, dict[str, Any]]:
    es.indices.refresh(index=settings.index("items"))
    hits = es.search(index=settings.index("items"), query={"term": {"source_kind": "legistar"}})["hits"][
        "hits"
    ]
    return {h["_source"]["record"]["matter_id"]: h["_source"]["record"] for h in hits}


def test_an_undated_matter_takes_the_date_of_the_meeting_that_lists_it(
    es: Elasticsearch, settings: Settings, legistar: FakeLegistar, tmp_path: Path
) -> None:
    summary = run_once(
        settings, glendale_config(tmp_path, legistar.base), now=datetime(2025, 6, 4, 8, tzinfo=UTC)
    )
    assert summary.ok, summary.problems
    records = _records(es, settings)
    assert records["7001"]["agenda_date"] == "2025-06-17"
    assert "agenda_date" not in records["7002"]  # on no meeting: no date made up
    mail = "\n".join(p.read_text(encoding="utf-8") for p in settings.outbox.rglob("*.eml"))
    assert "City Council has File 25-7001" in mail and "on its agenda of 17 June 2025" in mail


def test_without_events_the_matters_are_written_and_the_poll_says_why_there_is_no_agenda_date(
    es: Elasticsearch, settings: Settings, legistar: FakeLegistar, tmp_path: Path
) -> None:
    answer = legistar._answer

    def events_down(path: str) -> tuple[int, Any]:
        return (500, {"Message": "An error has occurred."}) if "/events" in path else answer(path)

    legistar._answer = events_down  # type: ignore[method-assign]
    summary = run_once(
        settings, glendale_config(tmp_path, legistar.base), now=datetime(2025, 6, 4, 8, tzinfo=UTC)
    )
    assert summary.ok, summary.problems
    records = _records(es, settings)
    assert set(records) == {"7001", "7002"} and "agenda_date" not in records["7001"]
    note = summary.sources["glendale-council"].note
    assert "agenda dates from /events not read" in note and "500" in note
