"""Alert latency through Airflow's event-driven path, measured on a private Airflow stack.

The path: a new entry on a ``priority: true`` feed → ``PriorityFeedTrigger`` (the AssetWatcher in
the triggerer, looking every ``MUNIWATCH_PRIORITY_CHECK_INTERVAL_S``, 15 s by default) →
``muniwatch_poll`` → asset → ``muniwatch_enrich`` → asset → ``muniwatch_alerts`` → SMTP.

:class:`LatencyStack` starts, with ``pipeline.local.stack.up``, an Airflow standalone of its own: its
own ``var_dir`` (``var/bench-airflow``: AIRFLOW_HOME, SQLite DB, logs, kept after the run for
inspection), free ports, its own index prefix on the local Elasticsearch, and a configuration
whose only source is a priority feed served by this process (:class:`FeedServer`) and whose
SMTP connection points at this process's aiosmtpd sink. A stack the user runs (``make up``) is
neither used nor disturbed. The watcher interval is the shipped default unless the caller asks
for another (the e2e test does, to be quick).

:func:`measure_airflow_latency` waits until the watcher has its baseline of the (empty) feed,
publishes a warm-up entry (not counted: first task start-ups are cold), then publishes one new
matching, relevant Californian story at a time — after a random pause, so entries land at any
point of the watcher's cycle as real news does — and times from the moment the new feed is
served to the moment its e-mail reaches the sink. The DAG runs' timestamps in the metadata DB
show where the time went (``milestones_median_s``). It never reports a figure it did not measure.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import shutil
import socket
import sqlite3
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from statistics import median
from typing import Any

from bench.corpus import Page, alert_pages, rss
from bench.measure import SMTPSink, percentile, write_config
from pipeline.local import stack
from pipeline.models import parse_utc
from pipeline.settings import Settings
from pipeline.store.client import make_client

LOGGER = logging.getLogger(__name__)

FEED_PATH = "/priority/feed.xml"
SOURCE_ID = "bench-priority"
BASELINE_TIMEOUT_S = 180.0
WARMUP_TIMEOUT_S = 300.0
EMAIL_TIMEOUT_S = 120.0
SHIPPED_CHECK_INTERVAL_S = 15.0  # pipeline/sources/priority.DEFAULT_CHECK_INTERVAL_S


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class FeedServer:
    """Feeds and pages from memory on 127.0.0.1 (ETag / 304), in a thread; notes revalidations."""

    def __init__(self) -> None:
        self._documents: dict[str, tuple[bytes, str]] = {}
        self._revalidated: set[tuple[str, str]] = set()
        self.published_at: dict[str, float] = {}
        # (monotonic time, path, status) of every request: what the watcher saw, when
        self.requests: list[tuple[float, str, int]] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    def start(self) -> str:
        feeds = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in separate writes; without TCP_NODELAY each response
            # waits ~40 ms for the client's delayed ACK.
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                path = self.path.split("?")[0]
                with feeds._lock:
                    found = feeds._documents.get(path)
                    asked = self.headers.get("If-None-Match")
                    if found is not None and asked == found[1]:
                        feeds._revalidated.add((path, asked))
                    status = 404 if found is None else 304 if asked == found[1] else 200
                    feeds.requests.append((time.monotonic(), path, status))
                if found is None:
                    status, body, headers = 404, b"not found", {"Content-Type": "text/plain"}
                elif asked == found[1]:
                    status, body, headers = 304, b"", {"ETag": found[1]}
                else:
                    kind = "application/rss+xml" if path.endswith(".xml") else "text/html; charset=utf-8"
                    status, body, headers = 200, found[0], {"Content-Type": kind, "ETag": found[1]}
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, args=(0.2,), daemon=True).start()
        return self.base_url

    @property
    def base_url(self) -> str:
        assert self._server is not None, "start() first"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def put(self, path: str, body: bytes) -> float:
        """Serve ``body`` at ``path`` from now on; returns the (monotonic) moment it is served."""
        etag = '"' + hashlib.blake2b(body, digest_size=8).hexdigest() + '"'
        with self._lock:
            self._documents[path] = (body, etag)
            served = time.monotonic()
            self.published_at[path] = served
        return served

    def requests_since(self, path: str, since: float) -> list[tuple[float, int]]:
        """(seconds after ``since``, status) of the requests for ``path`` made since then."""
        with self._lock:
            return [
                (round(at - since, 1), status) for at, p, status in self.requests if p == path and at >= since
            ]

    def revalidated(self, path: str) -> bool:
        """Someone asked for the current version of ``path`` with its ETag (a baseline exists)."""
        with self._lock:
            current = self._documents.get(path)
            return current is not None and (path, current[1]) in self._revalidated

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


class LatencyStack:
    """A private Airflow standalone watching one priority feed that this process publishes to.

    ``with LatencyStack(settings, prefix=...) as lab: lab.publish(page); lab.sink.first_with(...)``.
    """

    def __init__(self, base: Settings, *, prefix: str, check_interval_s: float | None = None,
                 workdir: Path | None = None) -> None:  # fmt: skip
        self.workdir = workdir or base.var_dir / "bench-airflow"
        self.settings = base.with_overrides(var_dir=self.workdir / "var", index_prefix=prefix)
        self.check_interval_s = check_interval_s
        self.feeds = FeedServer()
        self.sink = SMTPSink()
        self.published: list[Page] = []
        self.airflow_port = 0

    @property
    def metadata_db(self) -> Path:
        return stack.airflow_home(self.settings) / "airflow.db"

    @property
    def logs(self) -> Path:
        return stack.stack_dir(self.settings)

    def __enter__(self) -> LatencyStack:
        from pipeline.local import es_local

        if not es_local.status(self.settings).reachable:  # `up` would start a node under workdir
            raise stack.StackError(f"Elasticsearch at {self.settings.es_url} is down: `muniwatch es up`")
        stack.down(self.settings)  # a previous run that crashed: stop what it left, by its pid files
        shutil.rmtree(self.workdir, ignore_errors=True)
        base_url = self.feeds.start()
        self.feeds.put(FEED_PATH, rss(base_url, "Priority feed", []))
        smtp_port = int(self.sink.start().rsplit(":", 1)[1])
        source = {"id": SOURCE_ID, "kind": "rss", "url": base_url + FEED_PATH, "priority": True,
                  "interval": "1d", "home_state": "CA"}  # fmt: skip
        desk = {"id": "bench-ca-desk", "email": "desk@example.org", "mode": "immediate",
                "filter": {"states": ["CA"]}}  # fmt: skip
        paths = write_config(self.workdir / "config", [source], [desk])
        self.airflow_port = free_port()
        overrides = {
            "MUNIWATCH_INDEX_PREFIX": self.settings.index_prefix,
            "MUNIWATCH_ES_URL": self.settings.es_url,
            "MUNIWATCH_SMTP_URL": f"smtp://127.0.0.1:{smtp_port}",
            "MUNIWATCH_ALLOW_HOSTS": "127.0.0.1",
            "MUNIWATCH_UNSUBSCRIBE_URL": f"http://127.0.0.1:{self.airflow_port}/muniwatch/unsubscribe",
            # Empty: the shipped default, whatever the user's shell says.
            "MUNIWATCH_PRIORITY_CHECK_INTERVAL_S": f"{self.check_interval_s or ''}",
            # Log servers on free ports: a `make up` stack may hold the default ones.
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
            "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
        }
        try:
            stack.up(self.settings, demo=False, airflow_port=self.airflow_port, smtp_port=smtp_port,
                     smtp_sink=False, config_dir=paths.sources.parent, overrides=overrides)  # fmt: skip
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            stack.down(self.settings)
        finally:
            self.sink.stop()
            self.feeds.stop()
            delete_prefix(self.settings)

    def wait_for_baseline(self, timeout: float = BASELINE_TIMEOUT_S) -> bool:
        """True once the watcher (the only one that revalidates this feed) holds the current version."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.feeds.revalidated(FEED_PATH):
                return True
            time.sleep(0.2)
        return False

    def publish(self, page: Page) -> float:
        """Serve the page, then the feed with it as the newest entry; returns when the feed changed."""
        self.published.append(page)
        self.feeds.put(page.path, page.body)
        entries = [(p.title, p.path, p.summary, p.published) for p in reversed(self.published)]
        return self.feeds.put(FEED_PATH, rss(self.feeds.base_url, "Priority feed", entries))

    def dag_runs(self) -> list[dict[str, Any]]:
        """``muniwatch_*`` DAG runs from the metadata DB (read-only): id, type, state, times (UTC)."""
        with sqlite3.connect(f"file:{self.metadata_db}?mode=ro", uri=True, timeout=10) as db:
            rows = db.execute(
                "SELECT dag_id, run_type, state, queued_at, start_date, end_date FROM dag_run "
                "WHERE dag_id LIKE 'muniwatch_%' ORDER BY id"
            ).fetchall()
        keys = ("dag_id", "run_type", "state", "queued_at", "start_date", "end_date")
        return [dict(zip(keys, (*row[:3], *(parse_utc(v) for v in row[3:])), strict=True)) for row in rows]

    def watcher_events(self) -> list[dict[str, Any]]:
        """Payloads of the priority watcher's asset events (what its TriggerEvents said)."""
        with sqlite3.connect(f"file:{self.metadata_db}?mode=ro", uri=True, timeout=10) as db:
            rows = db.execute(
                "SELECT e.extra FROM asset_event e JOIN asset a ON a.id = e.asset_id "
                "WHERE a.name = 'muniwatch_priority_feeds' ORDER BY e.id"
            ).fetchall()
        extras = [json.loads(extra) if isinstance(extra, str) else extra or {} for (extra,) in rows]
        return [extra.get("payload", extra) for extra in extras]


def delete_prefix(settings: Settings) -> None:
    es = make_client(settings)
    try:
        pattern = f"{settings.index_prefix}-*"
        for index in es.indices.get(index=pattern, allow_no_indices=True, expand_wildcards="all").body:
            es.indices.delete(index=index)
        for template in es.indices.get_index_template(name=pattern).body.get("index_templates", []):
            es.indices.delete_index_template(name=template["name"])
    except Exception:  # cleanup must not hide the figures; the prefix is named in the log
        LOGGER.exception("could not delete the benchmark indices %s-*", settings.index_prefix)
    finally:
        es.close()


def milestones(runs: list[dict[str, Any]], published: list[tuple[datetime, float]]) -> dict[str, float]:
    """Median seconds from publication to each step, over the measured entries.

    ``poll_queued``: the watcher's look + its trigger event + the scheduler creating the run;
    ``poll_done`` / ``enrich_done``: the end of each DAG run; ``email``: the e-mail at the sink
    (the alerts run ends a little after it has sent). ``published`` holds (UTC time, latency).
    """
    steps: dict[str, list[float]] = {}
    for when, latency in published:
        chain: dict[str, dict[str, Any]] = {}
        for run in runs:  # the first run of each DAG queued after the publication
            queued = run["queued_at"]
            if queued is None or queued < when or run["dag_id"] in chain:
                continue
            if run["dag_id"] == "muniwatch_poll" and run["run_type"] != "asset_triggered":
                continue
            chain[run["dag_id"]] = run
        poll, enrich = chain.get("muniwatch_poll"), chain.get("muniwatch_enrich")
        moments: dict[str, datetime | None] = {
            "poll_queued": poll["queued_at"] if poll else None,
            "poll_done": poll["end_date"] if poll else None,
            "enrich_done": enrich["end_date"] if enrich else None,
        }
        for name, moment in moments.items():
            if moment is not None:
                steps.setdefault(name, []).append((moment - when).total_seconds())
        steps.setdefault("email", []).append(latency)
    return {name: round(median(values), 2) for name, values in steps.items()}


def distinct_pages(count: int, *, seed: int) -> list[Page]:
    """``count`` stories no two of which are one event: the generator may repeat a place and
    headline, and the pipeline rightly groups a repeat into the earlier story (no new e-mail)."""
    by_title: dict[str, Page] = {}
    for page in alert_pages(2 * count + 10, seed=seed):
        by_title.setdefault(page.title, page)
    pages = list(by_title.values())[:count]
    if len(pages) < count:
        raise ValueError(f"the corpus has only {len(pages)} distinct alert stories, {count} wanted")
    return pages


def _settle_overdue(lab: LatencyStack, overdue: list[tuple[Page, float]]) -> tuple[list[float], list[str]]:
    """Latencies of e-mails that came after the per-entry wait (they count, as the large figures
    they are), and, for the ones that never came, what the watcher saw of the feed meanwhile."""
    late: list[float] = []
    missing: list[str] = []
    for page, served in overdue:
        arrived = lab.sink.first_with(page.path.encode(), 0.0)
        if arrived is not None:
            late.append(arrived - served)
            continue
        seen = lab.feeds.requests_since(FEED_PATH, served)
        missing.append(f"{page.title!r}: no e-mail; feed requests after publication (s, status): {seen[:12]}")
    return late, missing


def measure_airflow_latency(
    settings: Settings,
    *,
    runs: int,
    progress: Callable[[str], Any] = print,
    check_interval_s: float | None = None,
    seed: int = 8,
) -> dict[str, Any]:
    """Publish ``runs`` entries one at a time on a private stack; the latency of each e-mail.

    Returns ``{"measured": True, "runs", "emails", "latencies_s", "p50_s", "p95_s", ...}``, or
    ``{"measured": False, "reason": ...}`` when the stack cannot start or the chain never delivers.
    """
    interval = check_interval_s or SHIPPED_CHECK_INTERVAL_S
    prefix = f"{settings.index_prefix}-bench-af-{random.Random().getrandbits(32):08x}"
    pages = distinct_pages(runs + 1, seed=seed)
    rng = random.Random(seed)
    result: dict[str, Any] = {"measured": False, "runs": runs, "check_interval_s": interval}
    started = time.monotonic()
    try:
        with LatencyStack(settings, prefix=prefix, check_interval_s=check_interval_s) as lab:
            progress(f"Airflow stack up in {time.monotonic() - started:.0f}s (logs in {lab.logs})")
            log = lab.logs / "airflow.log"
            if not lab.wait_for_baseline():
                reason = (
                    f"the watcher did not revalidate the feed within {BASELINE_TIMEOUT_S:.0f}s; see {log}"
                )
                return {**result, "reason": reason}
            warmup, *measured = pages
            lab.publish(warmup)
            if lab.sink.first_with(warmup.path.encode(), WARMUP_TIMEOUT_S) is None:
                reason = f"the warm-up entry produced no e-mail within {WARMUP_TIMEOUT_S:.0f}s; see {log}"
                return {**result, "reason": reason}
            progress("warm-up entry alerted; measuring")
            latencies: list[float] = []
            published: list[tuple[datetime, float]] = []
            overdue: list[tuple[Page, float]] = []
            for number, page in enumerate(measured, 1):
                time.sleep(rng.uniform(0.0, interval))  # land anywhere in the watcher's cycle
                wall = datetime.now(UTC)
                served = lab.publish(page)
                arrived = lab.sink.first_with(page.path.encode(), EMAIL_TIMEOUT_S)
                if arrived is None:  # looked at again at the end: a late e-mail still counts
                    overdue.append((page, served))
                    progress(f"  entry {number}/{runs}: no e-mail yet after {EMAIL_TIMEOUT_S:.0f}s")
                    continue
                latencies.append(arrived - served)
                published.append((wall, arrived - served))
                progress(f"  entry {number}/{runs}: e-mail after {arrived - served:.1f}s")
            late, missing = _settle_overdue(lab, overdue)
            latencies += late
            result.update(emails=len(latencies), late=len(late), missing=missing,
                          latencies_s=[round(x, 3) for x in latencies],
                          milestones_median_s=milestones(lab.dag_runs(), published))  # fmt: skip
    except stack.StackError as error:
        return {**result, "reason": f"the benchmark's Airflow stack did not start: {error}"}
    if not latencies:
        return {**result, "reason": "no measured entry produced an e-mail: " + "; ".join(result["missing"])}
    result.update(measured=True, p50_s=percentile(latencies, 0.5), p95_s=percentile(latencies, 0.95))
    return result
