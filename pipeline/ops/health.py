"""Source health alarms: which sources are broken, and whether ops were already told.

A source is *unhealthy* when its last ``failures`` polls failed in a row, or when it has not been
polled successfully for ``stale_factor`` x its interval (stuck in a long backoff, or nothing polls
it any more). ``check_sources`` finds them and remembers, in each source's document in
``{prefix}-sources`` (``alarm_reported_at``, ``alarm_reason``), which ones were already reported.
An *incident* is new when at least one unhealthy source has not been reported yet; a source that
recovers loses its mark, so its next failure is a new incident. The Airflow health task fails only
on a new incident, so the failure e-mail goes out once per incident, not on every poll.

Thresholds come from ``MUNIWATCH_SOURCE_FAILURE_THRESHOLD`` / ``MUNIWATCH_SOURCE_STALE_FACTOR``
(or the Airflow Variables of the same name in lower case; the environment wins).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from elasticsearch import Elasticsearch

from pipeline.config import PipelineConfig, SourceConfig
from pipeline.models import parse_utc
from pipeline.settings import Settings, SettingsError
from pipeline.sources.state import SourceState
from pipeline.store.indices import ensure_index

LOGGER = logging.getLogger(__name__)

FAILURE_THRESHOLD_NAME = "MUNIWATCH_SOURCE_FAILURE_THRESHOLD"
STALE_FACTOR_NAME = "MUNIWATCH_SOURCE_STALE_FACTOR"
HEALTH_VARIABLES = (FAILURE_THRESHOLD_NAME.lower(), STALE_FACTOR_NAME.lower())


@dataclass(frozen=True, kw_only=True)
class HealthThresholds:
    # Failed polls in a row before a source counts as broken (one failure is often a blip).
    failures: int = 3
    # No successful poll for this many intervals: broken, whatever the failure count says.
    stale_factor: float = 4.0


def thresholds_from(
    environ: Mapping[str, str], variables: Mapping[str, str | None] | None = None
) -> HealthThresholds:
    """Thresholds from the environment, else Airflow Variables, else the defaults.

    Raises SettingsError naming the setting when a value is not a positive number.
    """
    values: dict[str, Any] = {}
    for name, key, kind in (
        (FAILURE_THRESHOLD_NAME, "failures", int),
        (STALE_FACTOR_NAME, "stale_factor", float),
    ):
        raw = environ.get(name) or (variables or {}).get(name.lower())
        if raw is None or not str(raw).strip():
            continue
        try:
            value = kind(str(raw).strip())
        except ValueError:
            raise SettingsError(f"{name}={raw!r} is not a number") from None
        if value < 1:
            raise SettingsError(f"{name}={raw!r} must be at least 1")
        values[key] = value
    return HealthThresholds(**values)


@dataclass(kw_only=True)
class SourceAlarm:
    source_id: str
    reason: str
    # False when this source was already reported in an earlier run (same incident).
    new: bool


@dataclass(kw_only=True)
class HealthCheck:
    """What one health check found (the Airflow task's message and return value)."""

    checked: int = 0
    alarms: list[SourceAlarm] = field(default_factory=list)
    recovered: list[str] = field(default_factory=list)

    @property
    def new_incident(self) -> bool:
        return any(alarm.new for alarm in self.alarms)

    def message(self) -> str:
        """One line per unhealthy source, new ones marked; empty when all are healthy."""
        if not self.alarms:
            return ""
        lines = [f"{len(self.alarms)} of {self.checked} sources unhealthy:"]
        for alarm in self.alarms:
            lines.append(f"- {alarm.source_id}{' (new)' if alarm.new else ''}: {alarm.reason}")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "new_incident": self.new_incident}


def _duration(seconds: float) -> str:
    if seconds >= 2 * 86400:
        return f"{seconds / 86400:.0f} days"
    if seconds >= 2 * 3600:
        return f"{seconds / 3600:.0f} h"
    return f"{seconds / 60:.0f} min"


def alarm_reason(
    state: SourceState, source: SourceConfig, now: datetime, thresholds: HealthThresholds
) -> str | None:
    """Why this source is broken, in one line, or None when it is healthy enough."""
    if state.last_poll_at is None:
        return None  # never polled (new, or an X source without a token: a config warning)
    if state.consecutive_failures >= thresholds.failures:
        status = f" (HTTP {state.last_status})" if state.last_status else ""
        return (
            f"{state.consecutive_failures} failed polls in a row{status}: "
            f"{(state.last_error or 'unknown error').splitlines()[0][:300]}"
        )
    limit = timedelta(seconds=source.interval * thresholds.stale_factor)
    since = state.last_success_at
    if since is not None and now - since > limit:
        return (
            f"no successful poll for {_duration((now - since).total_seconds())} "
            f"(interval {_duration(source.interval)}, limit {_duration(limit.total_seconds())}); "
            f"last error: {state.last_error or 'none'}"
        )
    return None


def _stored_states(es: Elasticsearch, settings: Settings) -> dict[str, tuple[SourceState, dict[str, Any]]]:
    ensure_index(es, settings, "sources")
    es.indices.refresh(index=settings.index("sources"))
    response = es.search(index=settings.index("sources"), query={"match_all": {}}, size=10_000)
    return {
        hit["_id"]: (SourceState.from_document({**hit["_source"], "source_id": hit["_id"]}), hit["_source"])
        for hit in response["hits"]["hits"]
    }


def check_sources(
    es: Elasticsearch,
    settings: Settings,
    config: PipelineConfig,
    *,
    now: datetime,
    thresholds: HealthThresholds | None = None,
) -> HealthCheck:
    """Find unhealthy enabled sources, mark the newly reported ones, clear recovered ones.

    A later run with nothing changed finds the same alarms, none of them new; re-running the same
    run (same ``now``) gives the same answer as its first try.
    """
    thresholds = thresholds or HealthThresholds()
    stored = _stored_states(es, settings)
    check = HealthCheck()
    operations: list[dict[str, Any]] = []

    def mark(source_id: str, doc: dict[str, Any]) -> None:
        operations.append({"update": {"_index": settings.index("sources"), "_id": source_id}})
        operations.append({"doc": doc})

    for source in config.sources:
        if not source.enabled or source.id not in stored:
            continue
        check.checked += 1
        state, raw = stored[source.id]
        reason = alarm_reason(state, source, now, thresholds)
        reported = raw.get("alarm_reported_at")
        if reason is None:
            if reported:
                check.recovered.append(source.id)
                mark(source.id, {"alarm_reported_at": None, "alarm_reason": None})
            continue
        # Reported by this same run (a re-run or retry of it): still new, so the re-run fails alike.
        new = not reported or parse_utc(reported) == now
        check.alarms.append(SourceAlarm(source_id=source.id, reason=reason, new=new))
        mark(source.id, {"alarm_reported_at": reported or now.isoformat(), "alarm_reason": reason})
    # A source disabled or removed from the configuration is no longer watched: drop its alarm.
    enabled = {source.id for source in config.sources if source.enabled}
    for source_id, (_, raw) in sorted(stored.items()):
        if source_id not in enabled and raw.get("alarm_reported_at"):
            mark(source_id, {"alarm_reported_at": None, "alarm_reason": None})
    if operations:
        response = es.bulk(operations=operations, refresh=True)
        if response.get("errors"):
            failed = [i["update"] for i in response["items"] if i["update"].get("error")]
            raise RuntimeError(
                f"could not record the health of {len(failed)} source(s): {failed[0]['error']}"
            )
    for source_id in check.recovered:
        LOGGER.info("source %s recovered", source_id)
    for alarm in check.alarms:
        LOGGER.warning(
            "source %s unhealthy%s: %s", alarm.source_id, " (new)" if alarm.new else "", alarm.reason
        )
    return check


def reported_alarms(es: Elasticsearch, settings: Settings) -> dict[str, dict[str, Any]]:
    """source id → ``{alarm_reported_at, alarm_reason}`` for the sources ops were alerted about."""
    ensure_index(es, settings, "sources")
    response = es.search(
        index=settings.index("sources"),
        query={"exists": {"field": "alarm_reported_at"}},
        source_includes=["alarm_reported_at", "alarm_reason"],
        size=10_000,
    )
    return {hit["_id"]: dict(hit["_source"]) for hit in response["hits"]["hits"]}
