"""The `muniwatch` command itself: help, configuration checks, and where the benchmark runs."""

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


def test_bench_outside_a_checkout_says_where_the_benchmark_lives(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # An installed package has no bench/ beside it.
    monkeypatch.setattr(cli, "BENCH_DIR", tmp_path / "bench")
    assert cli.main(["bench", "--quick"]) == 2
    error = capsys.readouterr().err
    assert "the benchmark ships with the source checkout" in error
    assert "make bench" in error


def test_bench_in_a_checkout_runs_the_checkouts_harness_in_its_own_process(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    harness = tmp_path / "bench"
    harness.mkdir()
    (harness / "__init__.py").write_text("")
    (harness / "__main__.py").write_text("import sys\nprint('harness got', sys.argv[1:])\nsys.exit(7)\n")
    monkeypatch.setattr(cli, "BENCH_DIR", harness)
    assert cli.main(["bench", "--quick", "--json"]) == 7
    assert "harness got ['--quick', '--json']" in capfd.readouterr().out


def test_the_real_harness_answers_help() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bench", "--help"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "--quick" in result.stdout and "--json" in result.stdout


def test_the_product_does_not_import_the_benchmark() -> None:
    code = (
        "import sys, pipeline.cli, pipeline.tasks, pipeline.local.demo, pipeline.local.stack\n"
        "print(sorted(m for m in sys.modules if m == 'bench' or m.startswith('bench.')))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.stdout.strip() == "[]", result.stderr
