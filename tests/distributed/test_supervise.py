"""The loopback stack's restart policy: a supervised process that dies is started again, and
``down`` (``processes.Process.stop``) still ends the supervisor and everything under it.

Real processes, no Airflow (fast; runs in ``make test``): the command records each start's pid.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from pipeline.local import processes, supervise

pytestmark = pytest.mark.integration


def wait_for(what: str, condition: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.1)


def supervised_sleeper(tmp_path: Path) -> tuple[processes.Process, Path]:
    starts = tmp_path / "starts"
    # A helper left behind in the background, as the scheduler's health-check server is when it dies.
    script = f"sleep 300 & echo $$ >> {starts}; echo $! >> {tmp_path / 'helpers'}; wait"
    process = processes.Process(
        name="sleeper",
        argv=[
            sys.executable,
            "-m",
            "pipeline.local.supervise",
            "--name",
            "sleeper",
            "--",
            "bash",
            "-c",
            script,
        ],
        pid_file=tmp_path / "sleeper.pid",
        log=tmp_path / "sleeper.log",
        marker="--name sleeper",
    )
    return process, starts


def pids(starts: Path) -> list[int]:
    return [int(line) for line in starts.read_text().split()] if starts.exists() else []


def test_a_killed_process_is_restarted_and_down_stops_everything(tmp_path: Path) -> None:
    process, starts = supervised_sleeper(tmp_path)
    process.start(dict(os.environ))
    try:
        wait_for("the first start", lambda: len(pids(starts)) == 1)
        first = pids(starts)[0]
        os.kill(first, signal.SIGKILL)  # the service dies on its own, as the scheduler did
        wait_for("a restart", lambda: len(pids(starts)) == 2)
        second = pids(starts)[1]
        assert processes.alive(second) and not processes.alive(first)
        assert "exited with status -9" in process.log.read_text()
        helpers = [int(line) for line in (tmp_path / "helpers").read_text().split()]
        assert not processes.alive(helpers[0]), "the dead run's helper outlived it"
    finally:
        supervisor = process.pid()
        assert process.stop()
    assert supervisor is not None and not processes.alive(supervisor)
    assert not processes.alive(second), "down left the supervised process running"
    time.sleep(supervise.FIRST_BACKOFF_S + 0.5)
    assert len(pids(starts)) == 2, "the supervisor started the process again after down"


def test_the_back_off_grows_while_it_keeps_crashing_and_resets_after_a_steady_run() -> None:
    crashing = [supervise.FIRST_BACKOFF_S]
    for _ in range(6):
        crashing.append(supervise.next_backoff(crashing[-1], ran_for=1.0))
    assert crashing[:4] == [2.0, 4.0, 8.0, 16.0] and crashing[-1] == supervise.MAX_BACKOFF_S
    assert supervise.next_backoff(supervise.MAX_BACKOFF_S, ran_for=supervise.STEADY_RUN_S) == 2.0
