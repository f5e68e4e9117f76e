"""Background processes the local stacks start, stop and find again by their recorded pids.

``make up``'s components (``pipeline.local.stack``) and the distributed stack's services
(``pipeline.local.distributed``) are both a :class:`Process`: started in a process group of its own
(so stopping it reaches its children), output appended to a log, its pid written to a file. A pid
counts as ours only while that process runs *and* its command line still holds the process's
marker: after a reboot or a crash the same pid may belong to someone else, whom ``down`` must
never signal.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from pipeline.settings import REPO_ROOT

STOP_TIMEOUT_S = 30.0


def alive(pid: int) -> bool:
    """The process runs (a zombie, dead but not yet reaped by its parent, does not)."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # reap it if it is our child
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in {"Z", "X"}


def start_in_own_group(argv: list[str], env: dict[str, str], log_path: Path, pid_file: Path) -> int:
    """Start ``argv`` in the background, output appended to ``log_path``, its pid recorded."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            argv,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=REPO_ROOT,
            start_new_session=True,  # its own process group: down stops all of it
        )
    pid_file.write_text(f"{process.pid}\n")
    # Until the new program is in place its /proc cmdline reads empty, and a `pid()` asked then
    # would not know it as ours (a second `up` would start a second copy).
    deadline = time.monotonic() + 2.0
    while time.monotonic() < deadline and process.poll() is None and not _cmdline(process.pid):
        time.sleep(0.01)
    return process.pid


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


@dataclass(frozen=True, kw_only=True)
class Process:
    """A long-running process we start, found again by its pid file and its command line."""

    name: str
    argv: list[str]
    pid_file: Path
    log: Path
    # A part of the command line that tells our process from another one that got the same pid.
    marker: str

    def pid(self) -> int | None:
        """The recorded pid if that process still runs and is the command we started."""
        try:
            pid = int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None
        cmdline = _cmdline(pid)
        # Redis retitles itself "redis-server 127.0.0.1:6380"; the API server "airflow api_server --
        # host:... port:...": a marker is a part of the command line, "-" and "_" alike.
        markers = {self.marker, self.marker.replace("-", "_")}
        return pid if alive(pid) and any(marker in cmdline for marker in markers) else None

    def start(self, env: dict[str, str]) -> int:
        """Start it unless it runs already; returns its pid."""
        running = self.pid()
        if running is not None:
            return running
        return start_in_own_group(self.argv, env, self.log, self.pid_file)

    def stop(self, sig: signal.Signals = signal.SIGTERM, timeout: float = STOP_TIMEOUT_S) -> bool:
        """Signal its process group, SIGKILL it after ``timeout``; False if it was not running."""
        pid = self.pid()
        if pid is None:
            self.pid_file.unlink(missing_ok=True)
            return False
        os.killpg(pid, sig)  # the group we created for it, not anyone else's
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and alive(pid):
            time.sleep(0.25)
        if alive(pid):
            os.killpg(pid, signal.SIGKILL)
        alive(pid)  # reap
        self.pid_file.unlink(missing_ok=True)
        return True
