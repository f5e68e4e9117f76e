"""The `muniwatch` command itself: help, configuration checks, and honest answers for steps
that are not there."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from pipeline import cli

pytestmark = pytest.mark.unit


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pipeline.cli", *args], capture_output=True, text=True, check=False
    )


def test_help_lists_every_documented_command() -> None:
    result = _run("--help")
    assert result.returncode == 0
    for command in ("run", "tag", "eval", "search", "subscribe", "es", "kibana", "bench", "demo", "replay"):
        assert command in result.stdout


def test_config_check_names_file_line_and_field(tmp_path: Path) -> None:
    sources = tmp_path / "sources.yaml"
    sources.write_text(
        "sources:\n"
        "  - {id: good, kind: rss, url: 'https://example.org/feed.xml'}\n"
        "  - id: no-url\n"
        "    kind: rss\n"
        "  - id: bad-interval\n"
        "    kind: rss\n"
        "    url: https://example.org/other.xml\n"
        "    interval: 5x\n"
    )
    result = _run("config", "check", "--sources", str(sources))
    assert result.returncode == 2
    assert f"{sources}:8: sources[2].interval: '5x' is not a duration" in result.stderr
    assert f"{sources}:3: sources[1]: an rss source needs a url" in result.stderr


def test_config_check_accepts_the_shipped_configuration() -> None:
    result = _run("config", "check")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ok: ")


def test_a_missing_step_says_which_issue_delivers_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(cli.HANDLERS, "bench", ("pipeline.not_there_yet", "bench_command", 8))
    assert cli.main(["bench"]) == 3
    assert "not built yet (delivered by issue #8)" in capsys.readouterr().err
