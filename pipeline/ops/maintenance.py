"""Daily upkeep (the ``muniwatch_maintenance`` DAG): source health report, silent-feed detection,
quarantine replay and recovery of deliveries left pending by a crash."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from elasticsearch import Elasticsearch

from pipeline.alerts import recover_pending
from pipeline.config import PipelineConfig
from pipeline.settings import Settings
from pipeline.sources.polling import source_health
from pipeline.store import quarantine

LOGGER = logging.getLogger(__name__)

# A delivery still pending after this long was left by a crashed run, not by one in progress.
STALE_PENDING_AFTER = timedelta(minutes=30)


@dataclass(kw_only=True)
class MaintenanceReport:
    """What one maintenance run found and did (the task's return value, shown in Airflow)."""

    # enabled sources in the configuration
    sources: int = 0
    failing_sources: list[str] = field(default_factory=list)
    silent_sources: list[str] = field(default_factory=list)
    never_polled: list[str] = field(default_factory=list)
    quarantine_resolved: int = 0
    quarantine_open: int = 0
    deliveries_recovered: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def run_maintenance(
    es: Elasticsearch, settings: Settings, config: PipelineConfig, *, now: datetime
) -> MaintenanceReport:
    """Source health (failing, silent, never polled), quarantine replay, stale pending deliveries."""
    configured = {source.id for source in config.sources if source.enabled}
    health = [row for row in source_health(es, settings, now=now) if row.get("source_id") in configured]
    failing = sorted(row["source_id"] for row in health if row.get("consecutive_failures", 0) > 0)
    silent = sorted(row["source_id"] for row in health if row.get("silent"))
    for source_id in failing:
        LOGGER.warning("source %s is failing", source_id)
    for source_id in silent:
        LOGGER.warning("source %s is silent for much longer than its usual cadence", source_id)

    quarantine.load_replay_handlers()
    resolved, still_failing = quarantine.replay(es, settings, now=now)
    recovered = recover_pending(es, settings, now=now, older_than=STALE_PENDING_AFTER)
    return MaintenanceReport(
        sources=len(configured),
        failing_sources=failing,
        silent_sources=silent,
        never_polled=sorted(configured - {row.get("source_id") for row in health}),
        quarantine_resolved=resolved,
        quarantine_open=still_failing,
        deliveries_recovered=recovered.sent,
    )
