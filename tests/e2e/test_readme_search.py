"""The README's "Searching" examples, run as written after `make demo`: each finds the demo's items,
and the demo prints the search command for its own prefix."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.search.links import search_command_for
from pipeline.settings import REPO_ROOT, Settings

pytestmark = pytest.mark.e2e

README_PREFIX = "MUNIWATCH_INDEX_PREFIX=muniwatch-demo"


def readme_search_examples() -> list[list[str]]:
    """The `muniwatch search` arguments of each example line in the README's "Searching" section."""
    text = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Searching\n", 1)[1].split("\n## ", 1)[0]
    examples = []
    for line in section.splitlines():
        if line.startswith(f"{README_PREFIX} .venv/bin/muniwatch search"):
            words = shlex.split(line)
            examples.append(words[words.index("search") + 1 :])
    return examples


def test_readme_search_examples_find_the_demo_items(tmp_path: Path, es_session_settings: Settings) -> None:
    examples = readme_search_examples()
    assert len(examples) >= 3
    prefix = f"{es_session_settings.index_prefix}-readme"
    env = {
        "PATH": "/usr/bin:/bin",
        "MUNIWATCH_ES_URL": es_session_settings.es_url,
        "MUNIWATCH_INDEX_PREFIX": prefix,
        "MUNIWATCH_OUTBOX": str(tmp_path / "outbox"),
        "MUNIWATCH_VAR_DIR": str(tmp_path / "var"),
        "MUNIWATCH_UNSUBSCRIBE_SECRET": "readme-test",
    }
    cli = [sys.executable, "-m", "pipeline.cli"]
    demo = subprocess.run([*cli, "demo"], env=env, capture_output=True, text=True, timeout=300, check=False)
    assert demo.returncode == 0, demo.stderr[-2000:]
    assert search_command_for(prefix) in demo.stdout, "the demo prints the search command for its prefix"
    for arguments in examples:
        found = subprocess.run(
            [*cli, "search", *arguments, *([] if "--json" in arguments else ["--json"])],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert found.returncode == 0, (arguments, found.stderr[-1000:])
        assert json.loads(found.stdout)["total_items"] > 0, f"README example finds nothing: {arguments}"
