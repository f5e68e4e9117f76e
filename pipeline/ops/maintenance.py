"""Daily upkeep (the ``muniwatch_maintenance`` DAG): source health report, silent-feed detection,
quarantine replay and recovery of deliveries left pending by a crash."""

from __future__ import annotations

import logging
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


def run_maintenance(
    es: Elasticsearch, settings: Settings, config: PipelineConfig, *, now: datetime
) -> dict[str, Any]:
    configured = {source.id for source in config.sources if source.enabled}
    health = [row for row in source_health(es, settings, now=now) if row.get("source_id") in configured]
    never_polled = sorted(configured - {row.get("source_id") for row in health})
    failing = sorted(row["source_id"] for row in health if row.get("consecutive_failures", 0) > 0)
    silent = sorted(row["source_id"] for row in health if row.get("silent"))
    for source_id in failing:
        LOGGER.warning("source %s is failing", source_id)
    for source_id in silent:
        LOGGER.warning("source %s is silent for much longer than its usual cadence", source_id)

    quarantine.load_replay_handlers()
    resolved, still_failing = quarantine.replay(es, settings, now=now)
    recovered = recover_pending(es, settings, now=now, older_than=STALE_PENDING_AFTER)
    return {
        "sources": len(configured),
        "failing_sources": failing,
        "silent_sources": silent,
        "never_polled": never_polled,
        "quarantine_resolved": resolved,
        "quarantine_open": still_failing,
        "deliveries_recovered": recovered if isinstance(recovered, int) else getattr(recovered, "sent", 0),
    }
