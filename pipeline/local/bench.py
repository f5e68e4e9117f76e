"""``muniwatch bench [--quick] [--json]`` (``make bench``): measured throughput, latency and memory.

The harness lives in the checkout's ``bench/`` folder (corpus generator, loopback servers, the
measurements, the chart); this command runs it against the local Elasticsearch, writes
``bench/results/latest.json`` and ``latest.png`` and prints the headline figures (``--json``: the
whole result object, whose first keys are the ones DESIGN names). See ``bench/README.md``.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from typing import Any

from pipeline.settings import REPO_ROOT, load_settings

LOGGER = logging.getLogger(__name__)

_HEADLINE = (
    ("extract_only_docs_per_s", "extraction only (trafilatura), docs/s"),
    ("pipeline_docs_per_s", "full pipeline (poll, fetch, extract, tag, cluster, index), docs/s"),
    ("pipeline_vs_extract_only", "pipeline / extraction only"),
    ("poll_feeds_per_s", "conditional polling (304s), feeds/s"),
    ("poll_first_pass_feeds_per_s", "first polling pass (200s), feeds/s"),
    ("tag_items_per_s", "tagging on one core, items/s"),
    ("alert_latency_run_p50_s", "alert latency via `muniwatch run`, p50 s"),
    ("alert_latency_run_p95_s", "alert latency via `muniwatch run`, p95 s"),
    ("alert_latency_airflow_p50_s", "alert latency via Airflow (event-driven), p50 s"),
    ("alert_latency_airflow_p95_s", "alert latency via Airflow (event-driven), p95 s"),
    ("peak_rss_mb", "peak RSS of a pipeline worker, MB"),
)

_LATENCY_PATHS = {
    "airflow_event_driven": "through Airflow (event-driven)",
    "muniwatch_run_once": "through `muniwatch run --once`, Airflow not measured",
}


def _harness() -> Any:
    """Import ``bench.run`` from the checkout (the harness is not part of the installed package)."""
    if not (REPO_ROOT / "bench" / "run.py").exists():
        raise FileNotFoundError(
            f"the benchmark harness is not at {REPO_ROOT / 'bench'}: run it from a checkout"
        )
    if str(REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT))
    from bench import run

    return run


def format_result(result: dict[str, Any]) -> str:
    lines = [f"{label:<72} {result.get(key) if result.get(key) is not None else 'not measured'}"
             for key, label in _HEADLINE]  # fmt: skip
    path = _LATENCY_PATHS.get(result.get("alert_latency_path") or "")
    if path:
        lines.append(f"alert latency (headline, {path}): p50 {result.get('alert_latency_p50_s')} s, "
                     f"p95 {result.get('alert_latency_p95_s')} s")  # fmt: skip
    if result.get("alert_latency_airflow_note"):
        lines.append(f"  (Airflow latency not measured: {result['alert_latency_airflow_note']})")
    lines.append("targets:")
    lines += [f"  {name}: {verdict}" for name, verdict in result.get("targets", {}).items()]
    machine = result.get("machine", {})
    lines.append(
        f"machine: {machine.get('cpu')}, {machine.get('cores')} cores, {machine.get('ram_gb')} GB RAM, "
        f"Python {machine.get('python')}, {machine.get('date')}"
    )
    return "\n".join(lines)


def bench_command(args: argparse.Namespace) -> int:
    from pipeline.local import es_local

    settings = load_settings()
    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd: a line per SMTP command
    try:
        es_local.wait_healthy(settings, timeout=30.0)
    except es_local.LocalESError as error:
        print(f"muniwatch bench: {error} (start it with `muniwatch es up`)", file=sys.stderr)
        return 1
    try:
        run = _harness()
    except FileNotFoundError as error:
        print(f"muniwatch bench: {error}", file=sys.stderr)
        return 1
    as_json = bool(getattr(args, "json", False))

    def progress(message: str) -> None:
        print(f"bench: {message}", file=sys.stderr if as_json else sys.stdout, flush=True)

    result = run.run_benchmark(settings, quick=bool(args.quick), progress=progress)
    json_path, png_path = run.write_results(result)
    if as_json:
        json.dump(result, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        print(format_result(result))
        print(f"written: {json_path}" + (f", {png_path}" if png_path else " (chart skipped: no matplotlib)"))
    return 0
