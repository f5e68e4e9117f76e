"""When digests are due (local hour in the subscriber's time zone) and how retries back off."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from pipeline.alerts.delivery import BACKOFF_CAP, backoff
from pipeline.alerts.digests import digest_slot
from pipeline.alerts.subscriptions import Subscription

pytestmark = pytest.mark.unit


def _daily(timezone: str, hour: int) -> Subscription:
    return Subscription(id="d", email="d@example.org", mode="daily", timezone=timezone, digest_hour=hour)


@pytest.mark.parametrize(
    ("timezone", "hour", "now", "day", "slot"),
    [
        # 07:00 in New York is 11:00Z in summer (EDT) ...
        ("America/New_York", 7, "2025-06-10T10:59:00+00:00", "2025-06-09", "2025-06-09T11:00:00+00:00"),
        ("America/New_York", 7, "2025-06-10T11:00:00+00:00", "2025-06-10", "2025-06-10T11:00:00+00:00"),
        # ... and 12:00Z in winter (EST)
        ("America/New_York", 7, "2025-01-15T11:30:00+00:00", "2025-01-14", "2025-01-14T12:00:00+00:00"),
        # the local date, not the UTC date, names the digest
        ("America/Los_Angeles", 6, "2025-06-11T03:00:00+00:00", "2025-06-10", "2025-06-10T13:00:00+00:00"),
        ("Asia/Tokyo", 8, "2025-06-09T23:30:00+00:00", "2025-06-10", "2025-06-09T23:00:00+00:00"),
        ("UTC", 0, "2025-06-10T00:00:00+00:00", "2025-06-10", "2025-06-10T00:00:00+00:00"),
        # the day clocks go forward in the US (9 March 2025): 07:00 EDT = 11:00Z
        ("America/New_York", 7, "2025-03-09T11:05:00+00:00", "2025-03-09", "2025-03-09T11:00:00+00:00"),
    ],
)
def test_digest_slot_is_the_latest_local_hour_at_or_before_now(
    timezone: str, hour: int, now: str, day: str, slot: str
) -> None:
    assert digest_slot(_daily(timezone, hour), datetime.fromisoformat(now)) == (
        day,
        datetime.fromisoformat(slot),
    )


def test_consecutive_runs_within_a_day_share_one_slot() -> None:
    subscription = _daily("Europe/Berlin", 7)
    start = datetime(2025, 6, 10, 5, 0, tzinfo=UTC)  # 07:00 in Berlin
    slots = {digest_slot(subscription, start + timedelta(minutes=15 * i))[0] for i in range(96)}
    assert slots == {"2025-06-10"}


def test_backoff_doubles_and_is_capped() -> None:
    assert [backoff(n).total_seconds() / 60 for n in range(1, 6)] == [1, 2, 4, 8, 16]
    assert backoff(40) == BACKOFF_CAP
