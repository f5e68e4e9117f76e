"""The measurements, one function each; ``bench.run.run_benchmark`` strings them together.

Every measurement talks only to servers on 127.0.0.1: the benchmark's own feed/page server
(``bench.server``), the local Elasticsearch under a private index prefix, and an aiosmtpd sink.
"""

from __future__ import annotations

import email
import email.policy
import multiprocessing
import os
import resource
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import yaml

from bench.corpus import BENCH_RULES, Page, rss
from bench.server import BenchServer
from bench.tagging import measure_tag_rate
from pipeline.settings import Settings
from pipeline.tasks import ConfigPaths

# trafilatura's options exactly as pipeline.fetch.extract uses them: the same work, nothing around it.
EXTRACT_OPTIONS: dict[str, Any] = {
    "with_metadata": True,
    "include_comments": False,
    "include_tables": False,
    "favor_precision": True,
    "date_extraction_params": {"extensive_search": False, "original_date": True},
}


def vm_hwm_mb() -> float:
    """Peak resident set of this process (``VmHWM``), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def children_peak_rss_mb() -> float:
    """The largest peak RSS among the children this process has waited for, in MB."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


@dataclass(frozen=True)
class Finished:
    returncode: int
    output: bytes
    peak_rss_mb: float


def run_measured(command: list[str], env: dict[str, str]) -> Finished:
    """Run ``command``; its exit code, output and its own peak RSS: ``VmHWM`` of the executed
    program, sampled every 20 ms while it runs (a spike shorter than that can be missed). (``ru_maxrss``
    from ``wait4`` would not do: Linux carries the forked copy of this process — the page corpus,
    ~1 GB — into it across the exec.)"""
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    chunks: list[bytes] = []
    reader = threading.Thread(target=lambda: chunks.append(process.stdout.read() if process.stdout else b""))
    reader.start()
    peak_kb = 0
    status = Path(f"/proc/{process.pid}/status")
    while process.poll() is None:
        try:
            for line in status.read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak_kb = max(peak_kb, int(line.split()[1]))
        except (OSError, ValueError):  # exiting between poll() and the read
            pass
        time.sleep(0.02)
    reader.join()
    return Finished(process.returncode, b"".join(chunks), peak_kb / 1024)


def write_config(
    directory: Path, sources: list[dict[str, Any]], subscriptions: list[dict[str, Any]]
) -> ConfigPaths:
    directory.mkdir(parents=True, exist_ok=True)
    paths = ConfigPaths(sources=directory / "sources.yaml", watchlists=directory / "watchlists.yaml",
                        subscriptions=directory / "subscriptions.yaml")  # fmt: skip
    paths.sources.write_text(yaml.safe_dump({"sources": sources}, sort_keys=False))
    paths.watchlists.write_text(yaml.safe_dump({"watchlists": [{"id": "bench", "rules": BENCH_RULES}]}))
    paths.subscriptions.write_text(yaml.safe_dump({"subscriptions": subscriptions}, sort_keys=False))
    return paths


def feed_sources(server: BenchServer, feed_paths: list[str], prefix: str) -> list[dict[str, Any]]:
    # A feed here carries up to 150 pages, all to be fetched in the one timed run: the per-run
    # fetch budget (100 by default, for politeness towards real hosts) would leave some waiting.
    return [{"id": f"{prefix}-{n}", "kind": "rss", "url": server.url(path), "group": prefix,
             "fetch_budget": 10_000}
            for n, path in enumerate(feed_paths)]  # fmt: skip


# --- extraction only ---------------------------------------------------------------------------


def _extract_one(job: tuple[bytes, str]) -> bool:
    import trafilatura

    html, url = job
    return trafilatura.bare_extraction(html, url=url, **EXTRACT_OPTIONS) is not None


def _warm() -> None:
    import trafilatura  # noqa: F401


def extract_only(pages: list[Page], base_url: str, processes: int) -> dict[str, Any]:
    """trafilatura alone on the pages, on ``processes`` worker processes (pool started untimed)."""
    jobs = [(page.body, base_url + page.path) for page in pages]
    with ProcessPoolExecutor(max_workers=processes) as pool:
        list(pool.map(_warm_and_wait, range(processes)))
        started = time.perf_counter()
        found = sum(pool.map(_extract_one, jobs, chunksize=4))
        elapsed = time.perf_counter() - started
    return {"docs": len(jobs), "with_text": found, "seconds": elapsed, "docs_per_s": len(jobs) / elapsed}


def _warm_and_wait(_: int) -> None:
    _warm()
    time.sleep(0.3)  # keep this worker busy so the next warm-up lands on the other one


# --- the full pipeline, in a fresh process ------------------------------------------------------


def _pipeline_worker(settings: Settings, paths: ConfigPaths, processes: int, out: Connection) -> None:
    from pipeline.enrich import enrich_pending
    from pipeline.fetch.client import SafeHTTPClient
    from pipeline.sources.polling import poll_sources
    from pipeline.store.client import make_client

    es = make_client(settings)
    config = paths.load()
    now = datetime.now(UTC)
    with SafeHTTPClient(settings) as client:
        started = time.perf_counter()
        polled = poll_sources(es, settings, config, now=now, force=True, client=client)
        polled_at = time.perf_counter()
        report = enrich_pending(es, settings, config, now=now, max_items=10**6, processes=processes,
                                client=client)  # fmt: skip
        finished = time.perf_counter()
    out.send({
        "new_items": polled.new_items, "indexed": report.indexed, "failed": report.failed,
        "retry_later": report.retry_later, "relevant": report.relevant, "stories": report.stories,
        "errors": report.errors[:5], "poll_s": polled_at - started, "enrich_s": finished - polled_at,
        "seconds": finished - started, "worker_peak_rss_mb": vm_hwm_mb(),
        "pool_peak_rss_mb": children_peak_rss_mb(),
    })  # fmt: skip
    es.close()


def full_pipeline(settings: Settings, paths: ConfigPaths, processes: int) -> dict[str, Any]:
    """Poll + enrich (fetch, extract, tag, cluster, index) in a freshly spawned worker process,
    so its peak RSS is the pipeline's own and not the benchmark's corpus."""
    context = multiprocessing.get_context("spawn")
    receive, send = context.Pipe(duplex=False)
    worker = context.Process(target=_pipeline_worker, args=(settings, paths, processes, send),
                             name="bench-pipeline")  # fmt: skip
    worker.start()
    result: dict[str, Any] = receive.recv()
    worker.join()
    result["docs_per_s"] = result["indexed"] / result["seconds"] if result["seconds"] else 0.0
    return result


# --- conditional polling ------------------------------------------------------------------------


def polling(settings: Settings, paths: ConfigPaths) -> dict[str, Any]:
    """Poll every source twice: the first pass gets 200s, the second only 304s."""
    from pipeline.fetch.client import SafeHTTPClient
    from pipeline.sources.polling import poll_sources
    from pipeline.store.client import make_client

    es = make_client(settings)
    config = paths.load()
    passes: dict[str, Any] = {}
    with SafeHTTPClient(settings) as client:
        for name in ("first", "conditional"):
            started = time.perf_counter()
            report = poll_sources(es, settings, config, now=datetime.now(UTC), force=True, client=client)
            elapsed = time.perf_counter() - started
            results = report.sources.values()
            passes[name] = {
                "feeds": len(results), "seconds": elapsed, "feeds_per_s": len(results) / elapsed,
                "not_modified": sum(r.not_modified for r in results),
                "errors": sum(bool(r.error) for r in results),
                "new_items": report.new_items,
            }  # fmt: skip
    es.close()
    return passes


# --- alert latency through `muniwatch run --once` -----------------------------------------------


@dataclass
class SMTPSink:
    """An aiosmtpd server on loopback that notes when each message arrived."""

    arrivals: list[tuple[float, bytes]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    controller: Any = None

    def start(self) -> str:
        from aiosmtpd.controller import Controller

        sink = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                arrived = time.monotonic()
                message = email.message_from_bytes(bytes(envelope.original_content or b""),
                                                   policy=email.policy.default)  # fmt: skip
                parts = [str(message["Subject"] or "")]
                parts += [
                    str(part.get_content())
                    for part in message.walk()
                    if part.get_content_maintype() == "text"
                ]
                with sink.lock:
                    sink.arrivals.append((arrived, "\n".join(parts).encode()))
                return "250 OK"

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = int(probe.getsockname()[1])
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=port)
        self.controller.start()
        return f"smtp://127.0.0.1:{port}"

    def first_with(self, marker: bytes, timeout: float) -> float | None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                for when, raw in self.arrivals:
                    if marker in raw:
                        return when
            time.sleep(0.02)
        return None

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    return statistics.quantiles(ordered, n=100, method="inclusive")[int(share * 100) - 1]


def alert_latency_run(settings: Settings, server: BenchServer, pages: list[Page], workdir: Path,
                      env_extra: dict[str, str]) -> dict[str, Any]:  # fmt: skip
    """Publish one new entry at a time, run ``muniwatch run --once``, wait for its e-mail."""
    sink = SMTPSink()
    smtp_url = sink.start()
    paths = write_config(
        workdir / "latency-config",
        [{"id": "bench-latency", "kind": "rss", "url": server.url("/lat/feed.xml"), "home_state": "CA"}],
        [
            {
                "id": "bench-ca-desk",
                "email": "desk@example.org",
                "mode": "immediate",
                "filter": {"states": ["CA"]},
            }
        ],
    )
    env = {**os.environ, **env_extra, "MUNIWATCH_SMTP_URL": smtp_url}
    muniwatch = str(Path(sys.executable).parent / "muniwatch")
    command = [muniwatch, "run", "--once", "--sources", str(paths.sources), "--watchlists",
               str(paths.watchlists), "--subscriptions", str(paths.subscriptions)]  # fmt: skip
    latencies: list[float] = []
    missing: list[str] = []
    published: list[Page] = []
    peak_rss = 0.0
    try:
        # A first run sets up indices and the feed's validators; it is not measured.
        server.put("/lat/feed.xml", rss(server.base_url, "Latency feed", []))
        peak_rss = run_measured(command, env).peak_rss_mb
        for page in pages:
            published.append(page)
            server.put(page.path, page.body)
            feed = rss(server.base_url, "Latency feed",
                       [(p.title, p.path, p.summary, p.published) for p in reversed(published)])  # fmt: skip
            started = time.monotonic()
            server.put("/lat/feed.xml", feed)
            done = run_measured(command, env)
            peak_rss = max(peak_rss, done.peak_rss_mb)
            arrived = sink.first_with(page.path.encode(), timeout=30.0)
            if arrived is None:
                missing.append(f"{page.title!r}: no e-mail (exit {done.returncode}: {done.output[-300:]!r})")
            else:
                latencies.append(arrived - started)
    finally:
        sink.stop()
    result: dict[str, Any] = {"runs": len(pages), "emails": len(latencies), "missing": missing,
                              "latencies_s": [round(x, 3) for x in latencies]}  # fmt: skip
    if latencies:
        result.update(p50_s=percentile(latencies, 0.5), p95_s=percentile(latencies, 0.95))
    result["peak_rss_mb"] = peak_rss
    return result


def tag_rate(items: int) -> float:
    return measure_tag_rate(items)


def timed(step: Callable[[], Any]) -> tuple[Any, float]:
    started = time.perf_counter()
    value = step()
    return value, time.perf_counter() - started
