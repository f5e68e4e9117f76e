"""The distributed stack's state folder and its backing services from Debian packages.

``var/distributed`` holds everything the stack keeps. PostgreSQL, Airflow's metadata DB and Celery
result backend, runs from Debian's ``postgresql`` package as a cluster of its own on
127.0.0.1:5433, as Debian's ``postgres`` user when we are root (Postgres refuses root). The
packages (``postgresql``, ``redis-server``) are installed here when missing and we are root;
otherwise the error says what to install.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

from pipeline.local import es_local

POSTGRES_PORT = int(os.environ.get("MUNIWATCH_DISTRIBUTED_PG_PORT", "5433"))


class DistributedError(RuntimeError):
    """A part of the distributed stack cannot start; the message says which and what to do."""


def stack_dir(var_dir: Path) -> Path:
    return var_dir / "distributed"


# --- Debian packages ------------------------------------------------------------------------------


def _postgres_bin() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]))
    return found[-1].parent if found else None


def ensure_packages() -> None:
    """PostgreSQL and Redis from Debian packages; installed here when missing and we are root."""
    found = {"postgresql": _postgres_bin(), "redis-server": shutil.which("redis-server")}
    missing = [package for package, where in found.items() if not where]
    if not missing:
        return
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise DistributedError(
            f"{' and '.join(missing)} not installed: run `sudo apt-get install -y {' '.join(missing)}` "
            "(Debian/Ubuntu; elsewhere your system's PostgreSQL 13+ and Redis 6+) and try again"
        )
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for argv in (["apt-get", "update"], ["apt-get", "install", "-y", *missing]):
        done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise DistributedError(f"{' '.join(argv)} failed:\n{(done.stderr or done.stdout)[-2000:]}")


# --- PostgreSQL --------------------------------------------------------------------------------------


def _pg_user() -> str | None:
    """Postgres refuses to run as root: as root, run it as Debian's ``postgres`` user."""
    return "postgres" if os.geteuid() == 0 else None


def postgres_dir(var_dir: Path) -> Path:
    """``var/distributed/postgres``, or a system folder when ``postgres`` cannot reach the checkout."""
    preferred = stack_dir(var_dir) / "postgres"
    user = _pg_user()
    if user is None:
        return preferred
    preferred.parent.mkdir(parents=True, exist_ok=True)
    if es_local._user_can_traverse(user, preferred.parent):
        return preferred
    digest = hashlib.sha256(str(preferred).encode()).hexdigest()[:12]
    return Path("/var/lib/muniwatch") / f"postgres-{digest}"


def _pg(var_dir: Path, tool: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    binary = _postgres_bin()
    assert binary is not None
    done = subprocess.run(
        [str(binary / tool), *args],
        user=_pg_user(),
        capture_output=True,
        text=True,
        check=False,
        cwd="/",
        timeout=120,
    )
    if check and done.returncode != 0:
        raise DistributedError(f"PostgreSQL {tool} failed:\n{(done.stderr or done.stdout)[-2000:]}")
    return done


def postgres_pid(var_dir: Path) -> int | None:
    try:
        pid = int((postgres_dir(var_dir) / "postmaster.pid").read_text().split()[0])
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError, IndexError):
        return None
    return pid if str(postgres_dir(var_dir)).encode() in cmdline else None


def postgres_up(var_dir: Path) -> None:
    data = postgres_dir(var_dir)
    if postgres_pid(var_dir) is not None:
        return
    if not (data / "PG_VERSION").exists():
        data.mkdir(parents=True, exist_ok=True)
        user = _pg_user()
        if user:
            shutil.chown(data, user)
            data.chmod(0o700)
        _pg(var_dir, "initdb", "-D", str(data), "-U", "airflow", "--auth=trust", "-E", "UTF8")
    options = f"-p {POSTGRES_PORT} -h 127.0.0.1 -k {data}"
    _pg(
        var_dir,
        "pg_ctl",
        "-D",
        str(data),
        "-l",
        str(data / "postgres.log"),
        "-w",
        "-t",
        "60",
        "-o",
        options,
        "start",
    )
    exists = _pg(
        var_dir,
        "psql",
        "-h",
        "127.0.0.1",
        "-p",
        str(POSTGRES_PORT),
        "-U",
        "airflow",
        "-d",
        "postgres",
        "-tAc",
        "SELECT 1 FROM pg_database WHERE datname = 'airflow'",
    )
    if exists.stdout.strip() != "1":
        _pg(var_dir, "createdb", "-h", "127.0.0.1", "-p", str(POSTGRES_PORT), "-U", "airflow", "airflow")


def postgres_down(var_dir: Path, *, restart: bool = False) -> bool:
    if postgres_pid(var_dir) is None:
        return False
    action = "restart" if restart else "stop"
    data = postgres_dir(var_dir)
    # -l: the restarted server must not inherit (and hold open) the pipe we read pg_ctl's output from.
    extra = (
        ["-o", f"-p {POSTGRES_PORT} -h 127.0.0.1 -k {data}", "-l", str(data / "postgres.log")]
        if restart
        else []
    )
    _pg(var_dir, "pg_ctl", "-D", str(postgres_dir(var_dir)), "-m", "fast", "-w", *extra, action)
    return True


def postgres_stop(var_dir: Path) -> bool:
    """Stop our cluster; False when it was not running (or PostgreSQL is not installed)."""
    return _postgres_bin() is not None and postgres_down(var_dir)
