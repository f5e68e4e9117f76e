"""The benchmark run: corpus → measurements → ``bench/results/latest.json`` and ``latest.png``.

Sizes (``--quick`` / full): pipeline pages 300 / 3000 over 20 feeds; polling feeds 1000 / 1000;
alert-latency runs 5 / 20; tagged items 200 / 1000. Every run uses its own index prefix
(``muniwatch-bench-<random>``) on the local Elasticsearch and deletes it at the end.
"""

from __future__ import annotations

import json
import logging
import os
import platform
import tempfile
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import measure
from bench.corpus import alert_pages, pipeline_corpus, polling_feeds
from bench.server import BenchServer
from pipeline.settings import REPO_ROOT, Settings
from pipeline.store.client import make_client
from pipeline.tasks import ConfigPaths, prepare

LOGGER = logging.getLogger(__name__)

RESULTS_DIR = REPO_ROOT / "bench" / "results"
TARGETS = {
    "pipeline_vs_extract_only": (">=", 0.8),
    "poll_feeds_per_s": (">=", 200.0),
    "tag_items_per_s": (">=", 200.0),
    "alert_latency_airflow_p95_s": ("<=", 60.0),
    "peak_rss_mb": ("<=", 1024.0),
}


@dataclass(frozen=True, kw_only=True)
class Sizes:
    pages: int
    feeds: int
    poll_feeds: int
    latency_runs: int
    tag_items: int

    @classmethod
    def of(cls, quick: bool) -> Sizes:
        if quick:
            return cls(pages=300, feeds=20, poll_feeds=1000, latency_runs=5, tag_items=200)
        return cls(pages=3000, feeds=20, poll_feeds=1000, latency_runs=20, tag_items=1000)


def machine() -> dict[str, Any]:
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    memory_kb = next((int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                      if line.startswith("MemTotal:")), 0)  # fmt: skip
    return {"cpu": cpu, "cores": os.cpu_count(), "ram_gb": round(memory_kb / 1024 / 1024, 1),
            "python": platform.python_version(), "os": platform.platform(),
            "date": datetime.now(UTC).isoformat(timespec="seconds")}  # fmt: skip


def _delete_prefix(settings: Settings, prefix: str) -> None:
    es = make_client(settings)
    try:
        for index in es.indices.get(index=f"{prefix}*", allow_no_indices=True, expand_wildcards="all").body:
            es.indices.delete(index=index)
        templates = es.indices.get_index_template(name=f"{prefix}*").body.get("index_templates", [])
        for template in templates:
            es.indices.delete_index_template(name=template["name"])
    except Exception:  # cleanup must not hide the figures; the prefix is named in the log
        LOGGER.exception("could not delete the benchmark indices %s*", prefix)
    finally:
        es.close()


def _prepared(settings: Settings, paths: ConfigPaths) -> None:
    prepare(settings, paths)


def run_benchmark(base: Settings, *, quick: bool, processes: int | None = None, airflow: bool = True,
                  progress: Any = print) -> dict[str, Any]:  # fmt: skip
    """Run every measurement and return the result object (see ``bench/README.md``)."""
    sizes = Sizes.of(quick)
    workers = processes or os.cpu_count() or 1
    prefix = f"muniwatch-bench-{uuid.uuid4().hex[:8]}"
    result: dict[str, Any] = {"quick": quick, "sizes": sizes.__dict__, "processes": workers,
                              "machine": machine(), "index_prefix": prefix}  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="muniwatch-bench-") as tmp:
        work = Path(tmp)
        settings = base.with_overrides(
            index_prefix=prefix, allow_hosts=base.allow_hosts | {"127.0.0.1"}, var_dir=work / "var",
            outbox=work / "outbox", smtp_url=None,
        )  # fmt: skip
        try:
            server = BenchServer({})
            corpus = pipeline_corpus(server.base_url, sizes.pages, feeds=sizes.feeds)
            poll_docs = polling_feeds(server.base_url, sizes.poll_feeds)
            latency = alert_pages(sizes.latency_runs)
            documents = {**{p: page.body for p, page in corpus.pages.items()}, **corpus.feeds, **poll_docs}
            with server.start(documents):
                pages = list(corpus.pages.values())
                result["corpus"] = {
                    "pages": len(pages), "relevant": sum(p.relevant for p in pages),
                    "mb": round(corpus.page_bytes / 1e6, 1), "feeds": len(corpus.feeds),
                }  # fmt: skip
                progress(f"extraction only: {len(pages)} pages on {workers} processes")
                result["extract_only"] = measure.extract_only(pages, server.base_url, workers)
                del pages

                progress("full pipeline: poll + enrich into Elasticsearch")
                paths = measure.write_config(
                    work / "pipeline", measure.feed_sources(server, list(corpus.feeds), "bench-f"), []
                )
                _prepared(settings, paths)
                result["pipeline"] = measure.full_pipeline(settings, paths, workers)

                progress(f"polling: {sizes.poll_feeds} feeds, first pass then conditional")
                poll_settings = settings.with_overrides(index_prefix=f"{prefix}-poll")
                poll_paths = measure.write_config(
                    work / "poll", measure.feed_sources(server, list(poll_docs), "bench-p"), []
                )
                _prepared(poll_settings, poll_paths)
                result["polling"] = measure.polling(poll_settings, poll_paths)

                progress(f"tagging: {sizes.tag_items} items on one core")
                result["tag_items_per_s"] = measure.tag_rate(sizes.tag_items)

                progress(f"alert latency through `muniwatch run --once`: {len(latency)} runs")
                alert_prefix = f"{prefix}-alert"
                env = {"MUNIWATCH_INDEX_PREFIX": alert_prefix, "MUNIWATCH_ALLOW_HOSTS": "127.0.0.1",
                       "MUNIWATCH_VAR_DIR": str(work / "var"), "MUNIWATCH_ES_URL": settings.es_url,
                       "MUNIWATCH_UNSUBSCRIBE_SECRET": "bench-only"}  # fmt: skip
                result["alert_latency_run"] = measure.alert_latency_run(settings, server, latency, work, env)
        finally:
            _delete_prefix(settings, prefix)
    if airflow:
        from bench.airflow_latency import measure_airflow_latency

        progress(f"alert latency through Airflow (event-driven path): {sizes.latency_runs} entries")
        result["alert_latency_airflow"] = measure_airflow_latency(
            base, runs=sizes.latency_runs, progress=progress
        )
    else:
        result["alert_latency_airflow"] = {"measured": False, "reason": "skipped on request"}
    return summarise(result)


def summarise(result: dict[str, Any]) -> dict[str, Any]:
    """The headline figures (DESIGN's `--json` contract) in front of the details."""
    extract = result["extract_only"]["docs_per_s"]
    pipeline = result["pipeline"]["docs_per_s"]
    airflow = result.get("alert_latency_airflow", {})
    run = result.get("alert_latency_run", {})
    if airflow.get("measured") and airflow.get("p95_s") is not None:
        latency, latency_path = airflow, "airflow_event_driven"
    elif run.get("p95_s") is not None:
        latency, latency_path = run, "muniwatch_run_once"
    else:
        latency, latency_path = {}, None
    headline: dict[str, Any] = {
        "extract_only_docs_per_s": round(extract, 1),
        "pipeline_docs_per_s": round(pipeline, 1),
        "pipeline_vs_extract_only": round(pipeline / extract, 3) if extract else None,
        "poll_feeds_per_s": round(result["polling"]["conditional"]["feeds_per_s"], 1),
        "poll_first_pass_feeds_per_s": round(result["polling"]["first"]["feeds_per_s"], 1),
        "tag_items_per_s": round(result["tag_items_per_s"], 1),
        # Through Airflow's event-driven path when measured, else through `muniwatch run`: which
        # one is in `alert_latency_path`; both are beside.
        "alert_latency_p50_s": _round(latency.get("p50_s")),
        "alert_latency_p95_s": _round(latency.get("p95_s")),
        "alert_latency_path": latency_path,
        "alert_latency_airflow_p50_s": _round(airflow.get("p50_s")),
        "alert_latency_airflow_p95_s": _round(airflow.get("p95_s")),
        "alert_latency_airflow_note": airflow.get("reason") if not airflow.get("measured") else None,
        "alert_latency_run_p50_s": _round(run.get("p50_s")),
        "alert_latency_run_p95_s": _round(run.get("p95_s")),
        "peak_rss_mb": round(
            max(
                result["pipeline"]["worker_peak_rss_mb"],
                result["pipeline"]["pool_peak_rss_mb"],
                run.get("peak_rss_mb", 0.0),
            ),
            1,
        ),
    }
    headline["targets"] = {name: _verdict(headline.get(name), *rule) for name, rule in TARGETS.items()}
    return {**headline, "machine": result["machine"], "details": result}


def _round(value: float | None) -> float | None:
    return round(value, 2) if value is not None else None


def _verdict(value: float | None, op: str, limit: float) -> str:
    if value is None:
        return "not measured"
    met = value >= limit if op == ">=" else value <= limit
    return f"{'met' if met else 'missed'} ({value} {op} {limit} wanted)"


def write_results(result: dict[str, Any], directory: Path = RESULTS_DIR) -> tuple[Path, Path | None]:
    from bench.chart import draw

    directory.mkdir(parents=True, exist_ok=True)
    json_path = directory / "latest.json"
    json_path.write_text(json.dumps(result, indent=2, sort_keys=False) + "\n")
    png_path = directory / "latest.png"
    drawn = draw(result, png_path)
    return json_path, png_path if drawn else None
