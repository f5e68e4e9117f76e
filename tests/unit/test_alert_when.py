"""The decision's date as the coverage states it (cases in tests/fixtures/alerts/decision_dates.yaml)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

import pytest
import yaml

from pipeline.alerts.when import decision_date, long_date
from pipeline.settings import REPO_ROOT

pytestmark = pytest.mark.unit

CASES: list[dict[str, Any]] = yaml.safe_load(
    (REPO_ROOT / "tests/fixtures/alerts/decision_dates.yaml").read_text(encoding="utf-8")
)


@pytest.mark.parametrize("case", CASES, ids=[c["text"][:45] for c in CASES])
def test_decision_date_from_the_text(case: dict[str, Any]) -> None:
    published = case["published"]
    at = datetime.combine(published, time(15), tzinfo=UTC) if isinstance(published, date) else None
    found = decision_date(case["text"], at)
    expect = case["expect"]
    if expect is None:
        assert found is None
        return
    assert found is not None
    if isinstance(expect, str) and expect.startswith("week:"):
        assert found.week_only and found.day == date.fromisoformat(expect[5:])
        assert found.label == f"the week of {long_date(found.day)}"
    else:
        assert (found.day, found.week_only) == (expect, False)
        assert found.label.startswith(f"{expect:%A}, {long_date(expect)}")
    if "phrase" in case:
        assert found.phrase == case["phrase"]


def test_dates_are_read_in_the_jurisdictions_time_zone() -> None:
    from pipeline.alerts.content import ItemView

    # 22:00 on Tuesday 10 June in Los Angeles is already Wednesday in UTC
    late = datetime(2025, 6, 11, 5, 0, tzinfo=UTC)
    item = ItemView(id="i", title="t", url="https://a.example/", source_id="s", published_at=late, state="CA")
    assert item.date_label == "10 June 2025"
    local = item.local_published
    found = decision_date("The council voted tonight to end the contract.", local)
    assert found is not None and found.day == date(2025, 6, 10)
    # unknown state: UTC as stored
    assert ItemView(
        id="i", title="t", url="https://a.example/", source_id="s", published_at=late
    ).date_label == ("11 June 2025")
