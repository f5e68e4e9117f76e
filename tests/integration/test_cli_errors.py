"""Every user-facing failure is one line on stderr and an exit code that says what happened
(issue 16: "a down Elasticsearch gives one line and exit 1 everywhere"; issue 17 case 10).

Run as a user runs them: the installed console entry point in a subprocess, so the logging set-up,
the client's retry warnings and the top-level handler are all the real ones."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from pipeline.settings import Settings

pytestmark = pytest.mark.integration

TOKEN = "ca-desk." + "A" * 43


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _muniwatch(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pipeline.cli", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


# One command per family (each subprocess pays the package's import time).
ES_DOWN_COMMANDS = [
    ["run", "--once"],
    ["search", "ICE"],
    ["subscribe", "add", "--id", "desk", "--email", "desk@example.org"],
    ["reindex"],
    ["unsubscribe", TOKEN],
]


def test_a_down_elasticsearch_is_one_line_and_exit_1_for_every_command(tmp_path: Path) -> None:
    env = {"MUNIWATCH_ES_URL": f"http://127.0.0.1:{_closed_port()}", "MUNIWATCH_VAR_DIR": str(tmp_path)}
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda args: _muniwatch(args, env), ES_DOWN_COMMANDS))
    for args, result in zip(ES_DOWN_COMMANDS, results, strict=True):
        lines = _lines(result.stderr)
        assert result.returncode == 1, (args, result.stderr[-2000:])
        assert len(lines) == 1, (args, result.stderr[-2000:])
        assert lines[0].startswith(f"muniwatch {args[0]}: Elasticsearch at http://127.0.0.1:"), lines
        assert "not reachable" in lines[0] and "Traceback" not in result.stderr


def test_inputs_elasticsearch_or_python_refuse_are_one_line_and_exit_2(settings: Settings) -> None:
    env = {
        "MUNIWATCH_ES_URL": settings.es_url,
        "MUNIWATCH_INDEX_PREFIX": settings.index_prefix,
        "MUNIWATCH_VAR_DIR": str(settings.var_dir),
    }
    cases = [
        (["search", "ICE", "--since", "99999999d"], "out of range"),
        (
            ["search", "ICE", "--limit", "100000"],
            "Elasticsearch refused the request: Result window is too large",
        ),
        (["search", " OR ".join(f"t{i}" for i in range(5000))], "Elasticsearch refused the request"),
        (["search", "(" * 500 + "ICE" + ")" * 500], "nested too deeply"),
    ]
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda case: _muniwatch(case[0], env), cases))
    for (args, wanted), result in zip(cases, results, strict=True):
        problems = [line for line in _lines(result.stderr) if " INFO " not in line]
        assert result.returncode == 2, (args[:3], result.stderr[-2000:])
        assert len(problems) == 1 and wanted in problems[0], (args[:3], problems)
        assert "Traceback" not in result.stderr
