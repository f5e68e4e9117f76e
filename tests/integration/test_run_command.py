"""`muniwatch run` as a user runs it: without `--once`, against sources that all fail (a 404 and a
closed port on loopback) and the real Elasticsearch. It must exit non-zero and name each failure once."""

from __future__ import annotations

import io
import socket
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pipeline.runner import RunOnceSummary, print_summary
from pipeline.settings import Settings
from tests.support.builders import write_config
from tests.support.http import LoopbackHTTPServer, Route

pytestmark = pytest.mark.integration


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_run_without_once_exits_1_and_names_each_failing_source_once(
    tmp_path: Path, settings: Settings, http_server: LoopbackHTTPServer
) -> None:
    gone = http_server.add("/gone.xml", Route(status=404, body=b"gone", content_type="text/plain"))
    paths = write_config(
        tmp_path,
        sources=[
            {"id": "gone-feed", "kind": "rss", "url": gone},
            {"id": "closed-feed", "kind": "rss", "url": f"http://127.0.0.1:{_closed_port()}/feed.xml"},
        ],
    )
    env = {
        "PATH": "/usr/bin:/bin",
        "MUNIWATCH_ES_URL": settings.es_url,
        "MUNIWATCH_INDEX_PREFIX": settings.index_prefix,
        "MUNIWATCH_OUTBOX": str(tmp_path / "outbox"),
        "MUNIWATCH_VAR_DIR": str(tmp_path / "var"),
        "MUNIWATCH_ALLOW_HOSTS": "127.0.0.1",
        "MUNIWATCH_UNSUBSCRIBE_SECRET": "run-test",
        "NO_PROXY": "*",
    }
    command = [sys.executable, "-m", "pipeline.cli", "run", "--sources", str(paths.sources)]
    command += ["--watchlists", str(paths.watchlists), "--subscriptions", str(paths.subscriptions)]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=180, check=False)
    assert result.returncode == 1, result.stdout + result.stderr[-2000:]
    output = result.stdout + result.stderr
    assert output.count("HTTP 404") == 1, output
    assert output.count("Connection refused") == 1, output
    assert "every source failed (2)" in result.stdout
    assert "make demo" not in result.stdout, "the hosts resolved: the network is not the problem"


def test_when_no_host_resolves_the_summary_suggests_make_demo(offline_settings: Settings) -> None:
    summary = RunOnceSummary(started_at=datetime(2025, 6, 12, tzinfo=UTC))
    for source_id in ("a", "b"):
        summary.source(
            source_id
        ).note = f"cannot resolve host '{source_id}.example': Name or service not known"
        summary.failed_sources[source_id] = summary.source(source_id).note
    out = io.StringIO()
    print_summary(summary, offline_settings, out=out)
    assert "every source failed (2)" in out.getvalue()
    assert "`make demo` runs the whole flow on bundled sample sources without network" in out.getvalue()
    assert summary.to_dict()["all_sources_failed"] is True

    summary.polled_ok = 1  # one source worked: no longer "everything failed"
    out = io.StringIO()
    print_summary(summary, offline_settings, out=out)
    assert "every source failed" not in out.getvalue() and "make demo" not in out.getvalue()
