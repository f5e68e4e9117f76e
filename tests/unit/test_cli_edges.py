"""Small things a new user trips over: `tag --help` says what goes in, `run` needs no `--once`,
and `.gitignore` ignores nothing the repository tracks."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from pipeline.cli import build_parser
from pipeline.settings import REPO_ROOT

pytestmark = pytest.mark.unit


def test_tag_help_documents_every_input_field(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["tag", "--help"])
    help_text = capsys.readouterr().out
    for field in ("id", "text", "title", "url", "home_state", "language"):
        assert f"\n  {field} " in help_text, field
    assert "required" in help_text and "muniwatch tag" in help_text


def test_run_needs_no_once_flag() -> None:
    assert build_parser().parse_args(["run"]).command == "run"
    assert build_parser().parse_args(["run", "--once"]).once


def test_gitignore_matches_no_tracked_file() -> None:
    if shutil.which("git") is None or not (REPO_ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    ignored = subprocess.run(
        ["git", "ls-files", "--cached", "--ignored", "--exclude-standard"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert ignored == [], f".gitignore lists tracked files: {ignored}"
