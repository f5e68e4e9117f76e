"""`muniwatch demo --serve`: the demo e-mail's one-click unsubscribe link works (a real process, real
HTTP, the real Elasticsearch)."""

from __future__ import annotations

import email
import email.policy
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from pipeline.settings import Settings

pytestmark = pytest.mark.e2e


def test_the_demo_emails_unsubscribe_link_works_while_it_serves(
    tmp_path: Path, es_session_settings: Settings
) -> None:
    env = {
        "PATH": "/usr/bin:/bin",
        "MUNIWATCH_INDEX_PREFIX": f"{es_session_settings.index_prefix}-demoserve",
        "MUNIWATCH_OUTBOX": str(tmp_path / "outbox"),
        "MUNIWATCH_VAR_DIR": str(tmp_path / "var"),
        "MUNIWATCH_UNSUBSCRIBE_SECRET": "demo-serve-test",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "pipeline.cli", "demo", "--serve"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        lines = []
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            assert line, f"the demo ended early: {''.join(lines)}"
            lines.append(line)
            if "until Ctrl-C" in line:
                break
        served = re.search(r"serving (http://127\.0\.0\.1:\d+)/", "".join(lines))
        assert served, "".join(lines)
        [eml] = list((tmp_path / "outbox").glob("*.eml"))
        message = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
        link = re.search(r"<(http[^>]+)>", str(message["List-Unsubscribe"]))
        assert link and link.group(1).startswith(f"{served.group(1)}/unsubscribe?token=")
        assert str(message["List-Unsubscribe-Post"]) == "List-Unsubscribe=One-Click"
        page = httpx.get(link.group(1))
        assert page.status_code == 200 and "<button" in page.text
        done = httpx.post(link.group(1), data={"List-Unsubscribe": "One-Click"})
        assert done.status_code == 200 and "will no longer receive" in done.text
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
