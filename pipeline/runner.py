"""``muniwatch run`` (``--once`` is the default and only mode): the whole pipeline in one process,
without Airflow. Exits 1 when a step failed or every source failed.

prepare (indices, subscriptions) → poll every enabled source (conditional GET, intake gate) →
enrich every pending item (fetch, extract, watchlist rules on the full text, tag, cluster, index)
→ alerts. Each step is the same entry point the Airflow DAGs call (``pipeline.tasks``), so both
paths behave the same. The summary follows each source's entries down the funnel: fetched
(entries polled) → candidates (admitted by the gate) → matched (full text) or kept (unmatched,
for ``muniwatch rematch``) or waiting (over the fetch budget) → indexed → alerted.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol, TextIO, TypeVar

from pipeline import tasks
from pipeline.config import RECORD_KINDS
from pipeline.models import SourceSummary
from pipeline.settings import Settings, load_settings, without_credentials
from pipeline.sources.polling import OUTCOME_LOGGER, SourcePollResult
from pipeline.tasks import ConfigPaths

LOGGER = logging.getLogger(__name__)

# How the fetcher words a DNS failure (pipeline.fetch.guard).
DNS_FAILURE = "cannot resolve host"
BACKING_OFF = "backing off until"


@dataclass(kw_only=True)
class RunOnceSummary:
    started_at: datetime
    finished_at: datetime | None = None
    sources: dict[str, SourceSummary] = field(default_factory=dict)
    # Each step's report as its to_dict() (the JSON summary shows them whole).
    reports: dict[str, Any] = field(default_factory=dict)
    # None when the alerts step did not run to the end.
    emails_sent: int | None = None
    problems: list[str] = field(default_factory=list)
    # source id → why its poll failed (or why it is still backed off after earlier failures).
    failed_sources: dict[str, str] = field(default_factory=dict)
    # Sources whose poll worked (fetched, or not modified).
    polled_ok: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def all_sources_failed(self) -> bool:
        """At least one source failed and none worked: nothing new can have come in."""
        return bool(self.failed_sources) and self.polled_ok == 0

    @property
    def no_host_resolved(self) -> bool:
        """Every source failed on DNS: most likely no network (``make demo`` works offline)."""
        return self.all_sources_failed and all(DNS_FAILURE in r for r in self.failed_sources.values())

    def source(self, source_id: str) -> SourceSummary:
        return self.sources.setdefault(source_id, SourceSummary(source_id=source_id))

    def to_dict(self) -> dict[str, Any]:
        return {
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "ok": self.ok,
            "all_sources_failed": self.all_sources_failed,
            "failed_sources": self.failed_sources,
            "problems": self.problems,
            "emails_sent": self.emails_sent,
            "sources": {sid: asdict(s) for sid, s in sorted(self.sources.items())},
            "reports": self.reports,
        }


class _Report(Protocol):
    def to_dict(self) -> dict[str, Any]: ...


_R = TypeVar("_R", bound=_Report)


def _step(summary: RunOnceSummary, name: str, step: Callable[[], _R]) -> _R | None:
    """Run one step; its report goes into the summary (as JSON-ready dict), a failure into problems."""
    try:
        report = step()
    except Exception as error:  # keep going: later steps still process what earlier runs left
        LOGGER.exception("step %s failed", name)
        summary.problems.append(f"{name}: {type(error).__name__}: {error}")
        return None
    summary.reports[name] = report.to_dict()
    return report


def _poll_note(result: SourcePollResult) -> str:
    if result.error:
        return result.error
    if result.skipped and result.skipped.startswith(BACKING_OFF):
        # "backing off until <time> after N failure(s): <reason>": the reason first, it matters most.
        head, _, reason = result.skipped.partition(": ")
        return f"{reason} (not retried yet: {head})"
    if result.skipped:
        return f"skipped: {result.skipped}"
    if result.not_modified:
        return "not modified since last poll (304)"
    return result.problem or ""


def run_once(settings: Settings, paths: ConfigPaths, *, now: datetime) -> RunOnceSummary:
    """One full pass. A failing step is reported and the following steps still run on what exists."""
    summary = RunOnceSummary(started_at=now)
    config = paths.load()  # a configuration error stops the run before anything is touched
    for source in config.sources:
        if source.enabled:
            summary.source(source.id)
    summary.reports["prepare"] = tasks.prepare(settings, paths).to_dict()

    polled = _step(summary, "poll", lambda: tasks.poll(settings, paths, now=now, force=True))
    if polled is not None:
        for source_id, result in polled.sources.items():
            row = summary.source(source_id)
            row.fetched += result.entries
            row.candidates += result.candidates
            row.errors += result.errors
            row.note = _poll_note(result)
            if result.kind in RECORD_KINDS:  # record items are indexed by the poll itself
                row.matched += result.matched
                row.indexed += result.new_items
            if result.error or (result.skipped or "").startswith(BACKING_OFF):
                summary.failed_sources[source_id] = row.note
            elif result.polled:
                summary.polled_ok += 1
    enriched = _step(summary, "enrich", lambda: tasks.enrich(settings, paths, now=now))
    if enriched is not None:
        for source_id, counts in enriched.sources.items():
            row = summary.source(source_id)
            row.matched += counts["matched"]
            row.kept += counts["unmatched"]
            row.waiting += counts["waiting"]
            row.indexed += counts["indexed"]
            row.errors += counts["errors"]
    alerted = _step(summary, "alerts", lambda: tasks.alerts(settings, now=now))
    if alerted is not None:
        for source_id, count in alerted.by_source.items():
            summary.source(source_id).alerted += count
        summary.emails_sent = alerted.emails_sent
        if alerted.subscriptions_failed or alerted.emails_failed:  # set aside, not lost: say so
            summary.problems.append(
                f"alerts: {alerted.subscriptions_failed} subscription batch(es) and {alerted.emails_failed} "
                "delivery(ies) failed and were kept for `muniwatch replay` (see `muniwatch replay --list`)"
            )
    summary.finished_at = datetime.now(UTC)
    return summary


def print_summary(
    summary: RunOnceSummary, settings: Settings, *, as_json: bool = False, out: TextIO = sys.stdout
) -> None:
    if as_json:
        json.dump(summary.to_dict(), out, indent=2, default=str)
        out.write("\n")
        return
    columns = ("fetched", "candidates", "matched", "kept", "waiting", "indexed", "alerted", "errors")
    header = f"{'source':<30}" + "".join(f" {name:>10}" for name in columns)
    out.write(header + "\n" + "-" * len(header) + "\n")
    totals = SourceSummary(source_id="total")
    for source_id, row in sorted(summary.sources.items()):
        figures = "".join(f" {getattr(row, name):>10}" for name in columns)
        out.write(f"{source_id[:30]:<30}{figures}" + (f"  {row.note[:240]}" if row.note else "") + "\n")
        for name in columns:
            setattr(totals, name, getattr(totals, name) + getattr(row, name))
    out.write("-" * len(header) + "\n")
    out.write(f"{'total':<30}" + "".join(f" {getattr(totals, name):>10}" for name in columns) + "\n")
    if totals.kept:
        out.write(
            f"kept: {totals.kept} fetched candidates matched no watchlist rule on their full text; they are "
            "stored (status unmatched), not alerted; `muniwatch rematch` runs changed rules over them\n"
        )
    if totals.waiting:
        out.write(
            f"waiting: {totals.waiting} candidates over their source's fetch_budget; "
            "the next run takes them\n"
        )
    if summary.emails_sent is not None:
        where = without_credentials(settings.smtp_url) if settings.smtp_url else str(settings.outbox)
        out.write(f"e-mails sent: {summary.emails_sent} (to {where})\n")
    for problem in summary.problems:
        out.write(f"problem: {problem}\n")
    if summary.all_sources_failed:
        out.write(
            f"every source failed ({len(summary.failed_sources)}): nothing new was fetched; "
            "each one's reason is in the table above\n"
        )
    if summary.no_host_resolved:
        out.write(
            "no source's host name resolved: is this machine offline? "
            "`make demo` runs the whole flow on bundled sample sources without network\n"
        )


def quiet_source_log() -> None:
    """The summary table gives each source's outcome: the per-source log line would say it twice."""
    OUTCOME_LOGGER.setLevel(logging.ERROR)


def run_command(args: argparse.Namespace) -> int:
    settings = load_settings()
    paths = ConfigPaths(sources=args.sources, watchlists=args.watchlists, subscriptions=args.subscriptions)
    quiet_source_log()
    summary = run_once(settings, paths, now=datetime.now(UTC))
    print_summary(summary, settings, as_json=args.json)
    return 0 if summary.ok and not summary.all_sources_failed else 1
