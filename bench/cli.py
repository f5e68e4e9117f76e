"""``python -m bench [--quick] [--json]`` (``make bench``, ``muniwatch bench`` in a checkout):
measured throughput, latency and memory.

Runs the harness (corpus generator, loopback servers, the measurements, the chart) against the
local Elasticsearch, writes ``bench/results/latest.json`` and ``latest.png`` and prints the headline
figures (``--json``: the whole result object, whose first keys are the ones DESIGN names). See
``bench/README.md``. The benchmark imports the product; the product never imports the benchmark
(``muniwatch bench`` starts this module in a new process).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from typing import Any

from bench import run
from pipeline.local import es_install, es_local
from pipeline.settings import load_settings

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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench", description="run the muniwatch benchmark")
    parser.add_argument("--quick", action="store_true", help="smaller sizes (a few minutes)")
    parser.add_argument("--json", action="store_true", help="print the whole result object as JSON")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("httpx", "httpcore", "elastic_transport"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    settings = load_settings()
    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd: a line per SMTP command
    try:
        es_local.wait_healthy(settings, timeout=30.0)
    except es_install.LocalESError as error:
        print(f"bench: {error} (start it with `muniwatch es up`)", file=sys.stderr)
        return 1
    as_json = bool(args.json)

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
