"""Coarse, idempotent task entry points shared by ``muniwatch run --once`` and the Airflow DAGs.

Each takes settings, configuration paths and ``now``, does one transaction-sized piece of work
(poll a group of sources, enrich a batch of pending items, send alerts, maintenance) and returns its
step's report dataclass (``PollReport``, ``EnrichReport``, ``AlertReport``, ``MaintenanceReport``);
each has ``to_dict()``, which the DAG tasks call at the XCom edge and the run summary for its JSON.
Re-running any of them changes nothing twice: polling creates items with ``op_type=create``,
enrichment only touches pending items, alerts go through the pending→sent delivery ledger.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from pipeline import config as config_module
from pipeline.alerts import AlertReport, run_alerts
from pipeline.alerts.subscriptions import sync_subscriptions
from pipeline.config import PipelineConfig
from pipeline.enrich import EnrichReport, enrich_pending
from pipeline.ops.health import HEALTH_VARIABLES as HEALTH_VARIABLES  # for the DAGs
from pipeline.ops.health import HealthCheck, HealthThresholds, check_sources, thresholds_from
from pipeline.ops.maintenance import MaintenanceReport, run_maintenance
from pipeline.ops.status import pipeline_counts
from pipeline.settings import Settings
from pipeline.sources.polling import PollReport, poll_sources
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


@dataclass(kw_only=True)
class PrepareReport:
    """Indices in place (logical name → concrete index) and the subscription sync's counts."""

    indices: dict[str, str] = field(default_factory=dict)
    subscriptions: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def prepare(settings: Settings, paths: ConfigPaths) -> PrepareReport:
    """Create indices and sync subscriptions from the YAML file. Idempotent; run at start-up."""
    es = make_client(settings)
    indices = ensure_indices(es, settings)
    synced = sync_subscriptions(es, settings, config_module.load_subscriptions(paths.subscriptions))
    return PrepareReport(indices=indices, subscriptions=synced)


def poll(
    settings: Settings,
    paths: ConfigPaths,
    *,
    now: datetime,
    source_ids: Sequence[str] | None = None,
    force: bool = False,
) -> PollReport:
    """Poll due sources (or ``source_ids``), enqueue new matching entries as pending items."""
    es = make_client(settings)
    return poll_sources(es, settings, paths.load(), now=now, source_ids=source_ids, force=force)


def enrich(settings: Settings, paths: ConfigPaths, *, now: datetime, max_items: int = 2000) -> EnrichReport:
    """Fetch, extract, tag, cluster and index pending items, in batches."""
    es = make_client(settings)
    return enrich_pending(es, settings, paths.load(), now=now, max_items=max_items)


def alerts(settings: Settings, *, now: datetime, digests: bool = True) -> AlertReport:
    """Match newly indexed items against subscriptions and send what is due."""
    es = make_client(settings)
    return run_alerts(es, settings, now=now, digests=digests)


def maintenance(settings: Settings, paths: ConfigPaths, *, now: datetime) -> MaintenanceReport:
    """Source health report, silent-feed detection, quarantine replay, stale pending deliveries."""
    es = make_client(settings)
    return run_maintenance(es, settings, paths.load(), now=now)


def pending_items(settings: Settings) -> int:
    """Items waiting for enrichment (after a quarantine replay, or left by a failed run)."""
    return pipeline_counts(make_client(settings), settings)["pending"]


def health_thresholds(environ: Mapping[str, str], variables: Mapping[str, str | None]) -> HealthThresholds:
    """The source-health thresholds from the environment, else Airflow Variables (``HEALTH_VARIABLES``)."""
    return thresholds_from(environ, variables)


def source_health(
    settings: Settings, paths: ConfigPaths, *, now: datetime, thresholds: HealthThresholds | None = None
) -> HealthCheck:
    """Unhealthy sources (failing N polls in a row, or no success for a multiple of their interval),
    each marked as reported once; ``new_incident`` says whether ops must be told now."""
    return check_sources(make_client(settings), settings, paths.load(), now=now, thresholds=thresholds)
