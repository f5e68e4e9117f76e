"""Keep one long-running process running: the loopback stack's ``restart: always``.

``python -m pipeline.local.supervise --name NAME -- COMMAND...`` runs COMMAND and starts it again
whenever it exits (crash or not), after a back-off: 2 s, doubled after each exit that came less than
a minute after its start, up to 30 s, and back to 2 s once a run has lasted a minute. Each restart is
logged to stderr (the service's log) with the exit status. ``pipeline.local.distributed`` starts
every Airflow process of the distributed stack this way, as docker-compose does with
``restart: always`` (the restart policy is said once, in ``pipeline.local.services``).

The command runs in the supervisor's own process group, so stopping means signalling the group
(``processes.Process.stop``, i.e. ``down``): SIGTERM reaches the command, which shuts down as
it would alone, and the supervisor, which then waits for it to exit and exits too instead of
restarting it; SIGKILL to the group ends both.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType

FIRST_BACKOFF_S = 2.0
MAX_BACKOFF_S = 30.0
# A run this long counts as healthy: the next exit starts again from the first back-off.
STEADY_RUN_S = 60.0


def next_backoff(previous: float, ran_for: float) -> float:
    """The wait before the next start: short after a steady run, doubling while it keeps crashing."""
    if ran_for >= STEADY_RUN_S:
        return FIRST_BACKOFF_S
    return min(previous * 2, MAX_BACKOFF_S)


def _log(name: str, message: str) -> None:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    print(f"[{stamp}] supervise {name}: {message}", file=sys.stderr, flush=True)


def _end_leftovers(name: str) -> None:
    """Kill what the exited run left in our group: an orphaned helper (the scheduler's health-check
    server) would hold its port, and the next run could not serve it. A container restart does the same."""
    ours = os.getpgrp()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if os.getpgid(int(entry.name)) == ours:
                os.kill(int(entry.name), signal.SIGKILL)
                _log(name, f"killed pid {entry.name}, left over from the exited run")
        except (ProcessLookupError, PermissionError):
            continue


def supervise(name: str, command: list[str]) -> int:
    """Run ``command`` until we are told to stop; return its last exit status."""
    stopping = False

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True  # the signal reached the whole group: the command has it too

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    backoff = FIRST_BACKOFF_S / 2
    status = 0
    while not stopping:
        started = time.monotonic()
        child = subprocess.Popen(command)
        status = child.wait()
        if stopping:
            break
        ran_for = time.monotonic() - started
        _end_leftovers(name)
        backoff = next_backoff(backoff, ran_for)
        _log(name, f"exited with status {status} after {ran_for:.0f}s; restarting in {backoff:.0f}s")
        deadline = time.monotonic() + backoff
        while not stopping and time.monotonic() < deadline:
            time.sleep(0.2)  # short steps: a stop during the back-off is not delayed
    _log(name, f"stopped (last exit status {status})")
    return status


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--name", required=True, help="the service name, for the log")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- then the command to keep running")
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command to supervise: give it after --")
    return supervise(args.name, command)


if __name__ == "__main__":
    sys.exit(main())
