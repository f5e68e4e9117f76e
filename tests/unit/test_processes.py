"""A recorded pid counts as ours only while its command line still shows what we started: ``down``
stops our process group, and never a stranger that got the same pid."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from pipeline.local.processes import Process, alive


def sleeper(tmp_path: Path, marker: str) -> Process:
    sleep = shutil.which("sleep") or "/bin/sleep"
    return Process(
        name="sleeper",
        argv=[sleep, "41"],
        pid_file=tmp_path / "sleeper.pid",
        log=tmp_path / "sleeper.log",
        marker=marker,
    )


def test_a_started_process_is_found_again_and_stopped_with_its_group(tmp_path: Path) -> None:
    process = sleeper(tmp_path, marker="sleep 41")
    pid = process.start(dict(os.environ))
    assert process.start(dict(os.environ)) == pid, "start is idempotent while it runs"
    assert process.pid() == pid and os.getpgid(pid) == pid
    assert process.stop()
    assert not alive(pid) and not process.pid_file.exists()
    assert not process.stop(), "a second stop finds nothing to stop"


def test_a_pid_whose_command_line_is_not_ours_is_left_alone(tmp_path: Path) -> None:
    ours = sleeper(tmp_path, marker="sleep 41")
    pid = ours.start(dict(os.environ))
    # The same pid file read by a process description that expects another command (as after a
    # reboot, when the recorded pid belongs to someone else now).
    stranger = sleeper(tmp_path, marker="redis-server 127.0.0.1:6380")
    try:
        assert stranger.pid() is None
        assert not stranger.stop()
        assert alive(pid), "stop signalled a process that is not ours"
    finally:
        ours.stop()
