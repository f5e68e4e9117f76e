"""A real local Elasticsearch node for development, demos and tests: ``muniwatch es up|down|status``.

The server is Elastic's ``integ-test-zip`` distribution of Elasticsearch (the server core without
optional modules), fetched once from Maven Central into a user cache and checked against a pinned
SHA-512. It runs bound to 127.0.0.1, single-node, security off, with a 512 MB heap, its data and
logs under ``var/elasticsearch``. Elasticsearch refuses to run as root, so when started by root it
runs as the dedicated system user ``muniwatch-es``.

The distribution and the Java that runs it come from ``pipeline.local.es_install``.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import os
import pwd
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from pipeline.local.es_install import (
    ES_VERSION,
    LocalESError,
    ensure_distribution,
    file_lock,
    find_java,
    is_root,
)
from pipeline.settings import Settings, load_settings, without_credentials

LOGGER = logging.getLogger(__name__)

ES_USER = "muniwatch-es"
HEAP = "512m"
START_TIMEOUT_S = 120.0

_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


@dataclass(frozen=True, kw_only=True)
class NodeStatus:
    reachable: bool
    health: str | None = None
    version: str | None = None
    node_name: str | None = None
    pid: int | None = None
    ours: bool = False
    detail: str = ""

    def describe(self, url: str) -> str:
        url = without_credentials(url)
        if not self.reachable:
            return f"Elasticsearch at {url}: not reachable ({self.detail or 'no answer'})"
        owner = f"started by muniwatch, pid {self.pid}" if self.ours else "not started by muniwatch"
        return (
            f"Elasticsearch at {url}: {self.health}, version {self.version}, node {self.node_name} ({owner})"
        )


# --- where things live -------------------------------------------------------------------------


def _user_can_traverse(user: str, path: Path) -> bool:
    result = subprocess.run(
        ["runuser", "-u", user, "--", "test", "-x", str(path)], capture_output=True, check=False
    )
    return result.returncode == 0


def node_dir(settings: Settings) -> Path:
    """``var/elasticsearch``, or a system folder when the ES user cannot reach the checkout."""
    preferred = settings.var_dir / "elasticsearch"
    if not is_root():
        return preferred
    preferred.parent.mkdir(parents=True, exist_ok=True)
    if _user_can_traverse(ES_USER, preferred.parent):
        return preferred
    digest = hashlib.sha256(str(preferred).encode()).hexdigest()[:12]
    fallback = Path("/var/lib/muniwatch") / f"elasticsearch-{digest}"
    LOGGER.warning("user %s cannot reach %s; keeping node data in %s", ES_USER, preferred, fallback)
    return fallback


# --- running -------------------------------------------------------------------------------------


def _host_port(settings: Settings) -> tuple[str, int]:
    parts = urlsplit(settings.es_url)
    return parts.hostname or "127.0.0.1", parts.port or 9200


def _ensure_user() -> None:
    try:
        pwd.getpwnam(ES_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", ES_USER],
            check=True,
            capture_output=True,
        )


def _write_node_config(directory: Path, home: Path, port: int) -> Path:
    config = directory / "config"
    if not (config / "jvm.options").exists():
        shutil.copytree(home / "config", config, dirs_exist_ok=True)
    (config / "jvm.options.d").mkdir(exist_ok=True)
    (config / "jvm.options.d" / "muniwatch.options").write_text(f"-Xms{HEAP}\n-Xmx{HEAP}\n")
    (config / "elasticsearch.yml").write_text(
        "# Written by `muniwatch es up`; edits are overwritten at each start.\n"
        "cluster.name: muniwatch-local\n"
        "node.name: muniwatch-local-1\n"
        "network.host: 127.0.0.1\n"
        f"http.port: {port}\n"
        f"transport.port: {port + 100}\n"
        "discovery.type: single-node\n"
        "xpack.security.enabled: false\n"
        f"path.data: {directory / 'data'}\n"
        f"path.logs: {directory / 'logs'}\n"
        # A developer disk at 90 % must not turn the local node read-only mid-test.
        "cluster.routing.allocation.disk.threshold_enabled: false\n"
        "action.destructive_requires_name: true\n"
    )
    return config


def _pid_file(directory: Path) -> Path:
    return directory / "es.pid"


def _our_pid(directory: Path) -> int | None:
    """PID of the node this checkout started, if that process is still that node."""
    try:
        pid = int(_pid_file(directory).read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    try:
        environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except OSError:
        return None
    # A recycled PID would not carry our config path in its environment.
    return pid if f"ES_PATH_CONF={directory / 'config'}".encode() in environ else None


def status(settings: Settings) -> NodeStatus:
    directory = node_dir(settings) if urlsplit(settings.es_url).hostname in _LOOPBACK else None
    pid = _our_pid(directory) if directory else None
    try:
        health = httpx.get(f"{settings.es_url}/_cluster/health", timeout=5.0)
        health.raise_for_status()
        nodes = httpx.get(f"{settings.es_url}/_nodes/_local", timeout=5.0).json().get("nodes", {})
    except (httpx.HTTPError, ValueError) as error:
        return NodeStatus(reachable=False, pid=pid, ours=pid is not None, detail=str(error))
    node: dict[str, Any] = next(iter(nodes.values()), {})
    return NodeStatus(
        reachable=True,
        health=health.json().get("status"),
        version=node.get("version"),
        node_name=node.get("name"),
        pid=pid,
        ours=pid is not None,
    )


def wait_healthy(settings: Settings, timeout: float = START_TIMEOUT_S) -> NodeStatus:
    deadline = time.monotonic() + timeout
    current = status(settings)
    while time.monotonic() < deadline:
        if current.reachable and current.health in {"green", "yellow"}:
            return current
        time.sleep(0.5)
        current = status(settings)
    raise LocalESError(
        f"Elasticsearch at {without_credentials(settings.es_url)} did not become healthy in {timeout:.0f}s"
    )


def up(settings: Settings) -> NodeStatus:
    """Start the local node unless one answers already; wait until it is healthy. Idempotent."""
    host, port = _host_port(settings)
    if host not in _LOOPBACK:
        raise LocalESError(f"`es up` starts a local node only; MUNIWATCH_ES_URL points at {host}")
    current = status(settings)
    if current.reachable:
        return wait_healthy(settings)
    home = ensure_distribution()
    java = find_java()
    directory = node_dir(settings)
    with file_lock(directory.parent / f".{directory.name}.lock"):
        current = status(settings)
        if current.reachable:
            return wait_healthy(settings)
        for sub in ("data", "logs", "tmp"):
            (directory / sub).mkdir(parents=True, exist_ok=True)
        config = _write_node_config(directory, home, port)
        run_as: str | None = None
        if is_root():
            _ensure_user()
            run_as = ES_USER
            shutil.chown(directory, ES_USER)
            for root, dirs, files in os.walk(directory):
                for name in dirs + files:
                    shutil.chown(Path(root, name), ES_USER)
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "ES_JAVA_HOME": str(java),
            "ES_PATH_CONF": str(config),
            "ES_TMPDIR": str(directory / "tmp"),
            "LANG": "C.UTF-8",
        }
        startup_log = directory / "logs" / "startup.log"
        _pid_file(directory).unlink(missing_ok=True)
        LOGGER.info("starting Elasticsearch %s on %s:%s (java %s)", ES_VERSION, host, port, java)
        with startup_log.open("ab") as log:
            # `-d` daemonises once the node is up; the launcher's exit code tells success.
            launcher = subprocess.run(
                [str(home / "bin" / "elasticsearch"), "-d", "-p", str(_pid_file(directory))],
                env=env,
                cwd=directory / "logs",
                stdout=log,
                stderr=subprocess.STDOUT,
                user=run_as,
                check=False,
                timeout=START_TIMEOUT_S,
                start_new_session=True,
            )
        if launcher.returncode != 0:
            tail = startup_log.read_text(errors="replace").splitlines()[-15:]
            raise LocalESError(
                f"Elasticsearch failed to start (exit {launcher.returncode}); last lines of {startup_log}:\n"
                + "\n".join(tail)
            )
        return wait_healthy(settings)


def down(settings: Settings, timeout: float = 60.0) -> bool:
    """Stop the node this checkout started (never another one). True if one was stopped."""
    directory = node_dir(settings)
    pid = _our_pid(directory)
    if pid is None:
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not Path(f"/proc/{pid}").exists():
            break
        time.sleep(0.25)
    else:
        os.kill(pid, signal.SIGKILL)
    _pid_file(directory).unlink(missing_ok=True)
    return True


def main_status(settings: Settings) -> int:
    current = status(settings)
    print(current.describe(settings.es_url))
    return 0 if current.reachable and current.health in {"green", "yellow"} else 1


def es_command(args: argparse.Namespace) -> int:
    """``muniwatch es up|down|status``."""
    settings = load_settings()
    try:
        if args.action == "up":
            node = up(settings)
            print(node.describe(settings.es_url))
            return 0
        if args.action == "down":
            stopped = down(settings)
            print(
                "stopped the local Elasticsearch node"
                if stopped
                else "no local node started by muniwatch is running"
            )
            return 0
        return main_status(settings)
    except LocalESError as error:
        print(f"muniwatch es {args.action}: {error}", file=sys.stderr)
        return 1
