"""Coarse, idempotent task entry points shared by ``muniwatch run --once`` and the Airflow DAGs.

Each takes settings, configuration paths and ``now``, does one transaction-sized piece of work
(poll a group of sources, enrich a batch of pending items, send alerts, maintenance) and returns a
JSON-serialisable summary (fit for XCom and for the run summary). Re-running any of them changes
nothing twice: polling creates items with ``op_type=create``, enrichment only touches pending
items, alerts go through the pending→sent delivery ledger.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from pipeline import config as config_module
from pipeline.alerts import run_alerts
from pipeline.alerts.subscriptions import sync_subscriptions
from pipeline.config import PipelineConfig
from pipeline.enrich import enrich_pending
from pipeline.ops.maintenance import run_maintenance
from pipeline.settings import Settings
from pipeline.sources.polling import poll_sources
from pipeline.store.client import make_client
from pipeline.store.indices import ensure_indices


@dataclass(frozen=True, kw_only=True)
class ConfigPaths:
    sources: Path = config_module.DEFAULT_SOURCES
    watchlists: Path = config_module.DEFAULT_WATCHLISTS
    subscriptions: Path = config_module.DEFAULT_SUBSCRIPTIONS

    def load(self) -> PipelineConfig:
        return config_module.load_config(self.sources, self.watchlists, self.subscriptions)


def source_groups(paths: ConfigPaths) -> list[list[str]]:
    """Enabled source ids grouped by their ``group`` field: one Airflow task per group."""
    groups: dict[str, list[str]] = {}
    for source in config_module.load_sources(paths.sources):
        if source.enabled:
            groups.setdefault(source.group, []).append(source.id)
    return [ids for _, ids in sorted(groups.items())]


def prepare(settings: Settings, paths: ConfigPaths) -> dict[str, Any]:
    """Create indices and sync subscriptions from the YAML file. Idempotent; run at start-up."""
    es = make_client(settings)
    indices = ensure_indices(es, settings)
    synced = sync_subscriptions(es, settings, config_module.load_subscriptions(paths.subscriptions))
    return {"indices": indices, "subscriptions": synced}


def poll(
    settings: Settings,
    paths: ConfigPaths,
    *,
    now: datetime,
    source_ids: Sequence[str] | None = None,
    force: bool = False,
) -> dict[str, Any]:
    """Poll due sources (or ``source_ids``), enqueue new matching entries as pending items."""
    es = make_client(settings)
    report = poll_sources(es, settings, paths.load(), now=now, source_ids=source_ids, force=force)
    return report.to_dict()


def enrich(settings: Settings, paths: ConfigPaths, *, now: datetime, max_items: int = 2000) -> dict[str, Any]:
    """Fetch, extract, tag, cluster and index pending items, in batches."""
    es = make_client(settings)
    report = enrich_pending(es, settings, paths.load(), now=now, max_items=max_items)
    return report.to_dict()


def alerts(settings: Settings, *, now: datetime, digests: bool = True) -> dict[str, Any]:
    """Match newly indexed items against subscriptions and send what is due."""
    es = make_client(settings)
    report = run_alerts(es, settings, now=now, digests=digests)
    return report.to_dict()


def maintenance(settings: Settings, paths: ConfigPaths, *, now: datetime) -> dict[str, Any]:
    """Source health report, silent-feed detection, quarantine replay, stale pending deliveries."""
    es = make_client(settings)
    return run_maintenance(es, settings, paths.load(), now=now)
