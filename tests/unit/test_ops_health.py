"""Source-health thresholds and verdicts without Elasticsearch: what ops configure and read."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from pipeline.config import SourceConfig
from pipeline.ops.health import HealthThresholds, alarm_reason, thresholds_from
from pipeline.settings import SettingsError
from pipeline.sources.state import SourceState

pytestmark = pytest.mark.unit

NOW = datetime(2025, 6, 12, 12, 0, tzinfo=UTC)
FEED = SourceConfig(id="feed", kind="rss", url="https://news.example/feed.xml", interval="15m")


def test_thresholds_come_from_the_environment_before_airflow_variables() -> None:
    assert thresholds_from({}) == HealthThresholds(failures=3, stale_factor=4.0)
    variables = {"muniwatch_source_failure_threshold": "5", "muniwatch_source_stale_factor": "2.5"}
    assert thresholds_from({}, variables) == HealthThresholds(failures=5, stale_factor=2.5)
    environ = {"MUNIWATCH_SOURCE_FAILURE_THRESHOLD": "2"}
    assert thresholds_from(environ, variables) == HealthThresholds(failures=2, stale_factor=2.5)


@pytest.mark.parametrize("value", ["three", "0", "-1"])
def test_a_bad_threshold_is_refused_with_its_name(value: str) -> None:
    with pytest.raises(SettingsError, match=f"MUNIWATCH_SOURCE_FAILURE_THRESHOLD={value!r}"):
        thresholds_from({"MUNIWATCH_SOURCE_FAILURE_THRESHOLD": value})


def test_failures_below_the_threshold_are_a_blip_and_at_it_an_alarm_with_the_reason() -> None:
    state = SourceState(source_id="feed", last_poll_at=NOW, last_success_at=NOW - timedelta(minutes=30))
    state.consecutive_failures, state.last_status, state.last_error = 2, 503, "HTTP 503 Service Unavailable"
    assert alarm_reason(state, FEED, NOW, HealthThresholds()) is None
    state.consecutive_failures = 3
    assert alarm_reason(state, FEED, NOW, HealthThresholds()) == (
        "3 failed polls in a row (HTTP 503): HTTP 503 Service Unavailable"
    )


def test_no_successful_poll_for_a_multiple_of_the_interval_is_an_alarm() -> None:
    state = SourceState(source_id="feed", last_poll_at=NOW, last_success_at=NOW - timedelta(minutes=59))
    assert alarm_reason(state, FEED, NOW, HealthThresholds()) is None  # 4 x 15 min = 60 min
    state.last_success_at = NOW - timedelta(minutes=61)
    reason = alarm_reason(state, FEED, NOW, HealthThresholds())
    assert reason is not None and reason.startswith(
        "no successful poll for 61 min (interval 15 min, limit 60 min)"
    )


def test_a_source_never_polled_raises_no_alarm() -> None:
    assert alarm_reason(SourceState(source_id="feed"), FEED, NOW, HealthThresholds()) is None
