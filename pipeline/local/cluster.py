"""A three-node Elasticsearch cluster on loopback, for the distributed stack and its fault test.

The same ``integ-test-zip`` server as ``pipeline.local.es_local`` (fetched and checked by it, run on
the same Java, as the same system user when started by root), three processes forming one cluster
``muniwatch-distributed``: HTTP on 9221–9223 and transport on 9321–9323 by default, beside — never
on — the shared single node at 9200. Every node is master-eligible and holds data, so the cluster
keeps a quorum (2 of 3) and stays writable (yellow) when one node dies; indices get one replica
(``prepare_replicated``), so no shard is lost with it. Heap 512 MB per node: 1.5 GB of the 24 GB machine.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from pipeline.local import es_install, es_local
from pipeline.local.processes import alive
from pipeline.settings import Settings
from pipeline.tasks import ConfigPaths

LOGGER = logging.getLogger(__name__)

CLUSTER_NAME = "muniwatch-distributed"
HTTP_BASE_PORT = int(os.environ.get("MUNIWATCH_CLUSTER_HTTP_PORT", "9221"))
NODE_COUNT = 3
HEAP = "512m"
START_TIMEOUT_S = 240.0


class ClusterError(RuntimeError):
    """The cluster cannot start or stop; the message says why."""


@dataclass(frozen=True, kw_only=True)
class Node:
    number: int
    http_port: int
    transport_port: int
    directory: Path

    @property
    def name(self) -> str:
        return f"es0{self.number}"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def pid_file(self) -> Path:
        return self.directory / "es.pid"

    def pid(self) -> int | None:
        """The node's pid while that process is this node (our config path in its environment)."""
        try:
            pid = int(self.pid_file.read_text().strip())
            environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        except (OSError, ValueError):
            return None
        return pid if f"ES_PATH_CONF={self.directory / 'config'}".encode() in environ else None


def base_dir(var_dir: Path) -> Path:
    """``var/distributed/es``, or a system folder when the ES user cannot reach the checkout."""
    preferred = var_dir / "distributed" / "es"
    if os.geteuid() != 0:
        return preferred
    preferred.parent.mkdir(parents=True, exist_ok=True)
    es_local._ensure_user()
    if es_local._user_can_traverse(es_local.ES_USER, preferred.parent):
        return preferred
    digest = hashlib.sha256(str(preferred).encode()).hexdigest()[:12]
    return Path("/var/lib/muniwatch") / f"cluster-{digest}"


def nodes(var_dir: Path, http_base_port: int = HTTP_BASE_PORT) -> list[Node]:
    root = base_dir(var_dir)
    return [
        Node(
            number=n,
            http_port=http_base_port + n - 1,
            transport_port=http_base_port + 100 + n - 1,
            directory=root / f"es0{n}",
        )
        for n in range(1, NODE_COUNT + 1)
    ]


def es_url(var_dir: Path) -> str:
    """Every node's URL, comma-separated: the client fails over when one is down."""
    return ",".join(node.url for node in nodes(var_dir))


def _write_config(node: Node, all_nodes: list[Node], home: Path) -> Path:
    config = node.directory / "config"
    if not (config / "jvm.options").exists():
        shutil.copytree(home / "config", config, dirs_exist_ok=True)
    (config / "jvm.options.d").mkdir(exist_ok=True)
    (config / "jvm.options.d" / "muniwatch.options").write_text(f"-Xms{HEAP}\n-Xmx{HEAP}\n")
    seeds = ", ".join(f'"127.0.0.1:{other.transport_port}"' for other in all_nodes)
    masters = ", ".join(f'"{other.name}"' for other in all_nodes)
    (config / "elasticsearch.yml").write_text(
        "# Written by `muniwatch stack up --distributed`; edits are overwritten at each start.\n"
        f"cluster.name: {CLUSTER_NAME}\n"
        f"node.name: {node.name}\n"
        "network.host: 127.0.0.1\n"
        f"http.port: {node.http_port}\n"
        f"transport.port: {node.transport_port}\n"
        f"discovery.seed_hosts: [{seeds}]\n"
        # Read only when the cluster forms for the first time (empty data folders).
        f"cluster.initial_master_nodes: [{masters}]\n"
        "xpack.security.enabled: false\n"
        f"path.data: {node.directory / 'data'}\n"
        f"path.logs: {node.directory / 'logs'}\n"
        "cluster.routing.allocation.disk.threshold_enabled: false\n"
        "action.destructive_requires_name: true\n"
    )
    return config


def _chown_tree(path: Path, user: str) -> None:
    shutil.chown(path, user)
    for root, dirs, files in os.walk(path):
        for name in dirs + files:
            shutil.chown(Path(root, name), user)


def start_node(node: Node, all_nodes: list[Node]) -> subprocess.Popen[bytes] | None:
    """Launch one node (``bin/elasticsearch -d``) unless it runs; the launcher exits once it is up."""
    if node.pid() is not None:
        return None
    home = es_install.ensure_distribution()
    java = es_install.find_java()
    for sub in ("data", "logs", "tmp"):
        (node.directory / sub).mkdir(parents=True, exist_ok=True)
    config = _write_config(node, all_nodes, home)
    run_as = None
    if os.geteuid() == 0:
        run_as = es_local.ES_USER
        _chown_tree(node.directory, run_as)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "ES_JAVA_HOME": str(java),
        "ES_PATH_CONF": str(config),
        "ES_TMPDIR": str(node.directory / "tmp"),
        "LANG": "C.UTF-8",
    }
    node.pid_file.unlink(missing_ok=True)
    log = (node.directory / "logs" / "startup.log").open("ab")
    return subprocess.Popen(
        [str(home / "bin" / "elasticsearch"), "-d", "-p", str(node.pid_file)],
        env=env,
        cwd=node.directory / "logs",
        stdout=log,
        stderr=subprocess.STDOUT,
        user=run_as,
        start_new_session=True,
    )


def health(url: str) -> dict[str, object] | None:
    try:
        answer = httpx.get(f"{url}/_cluster/health", timeout=5.0)
        answer.raise_for_status()
        body: dict[str, object] = answer.json()
        return body
    except (httpx.HTTPError, ValueError):
        return None


def wait_for(var_dir: Path, *, status: set[str], node_count: int, timeout: float) -> dict[str, object]:
    """Poll any live node until the cluster has ``node_count`` nodes and one of ``status``."""
    deadline = time.monotonic() + timeout
    last: dict[str, object] | None = None
    while time.monotonic() < deadline:
        for node in nodes(var_dir):
            last = health(node.url)
            if last and last.get("status") in status and last.get("number_of_nodes") == node_count:
                return last
        time.sleep(1.0)
    raise ClusterError(
        f"Elasticsearch cluster not {'/'.join(sorted(status))} with {node_count} nodes "
        f"within {timeout:.0f}s (last health: {last}); logs in {base_dir(var_dir)}/es0*/logs"
    )


def up(var_dir: Path) -> dict[str, object]:
    """Start the nodes that are not running, in parallel (a lone node waits for a quorum)."""
    all_nodes = nodes(var_dir)
    for node in all_nodes:
        if node.pid() is None and health(node.url) is not None:
            raise ClusterError(f"port {node.http_port} answers but is not our node {node.name}")
    launchers = [(node, start_node(node, all_nodes)) for node in all_nodes]
    for node, launcher in launchers:
        if launcher is not None and launcher.wait(timeout=START_TIMEOUT_S) != 0:
            tail = (node.directory / "logs" / "startup.log").read_text(errors="replace").splitlines()[-15:]
            raise ClusterError(f"Elasticsearch node {node.name} failed to start:\n" + "\n".join(tail))
    return wait_for(var_dir, status={"green", "yellow"}, node_count=NODE_COUNT, timeout=START_TIMEOUT_S)


def kill_node(node: Node) -> int:
    """SIGKILL one node (the fault test); returns its pid."""
    pid = node.pid()
    if pid is None:
        raise ClusterError(f"node {node.name} is not running")
    os.kill(pid, signal.SIGKILL)
    return pid


def down(var_dir: Path, timeout: float = 60.0) -> list[str]:
    """Stop our nodes (by their recorded pids, nothing else)."""
    lines = []
    for node in nodes(var_dir):
        pid = node.pid()
        if pid is None:
            lines.append(f"Elasticsearch {node.name}: was not running")
            continue
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and alive(pid):
            time.sleep(0.25)
        if alive(pid):
            os.kill(pid, signal.SIGKILL)
        node.pid_file.unlink(missing_ok=True)
        lines.append(f"Elasticsearch {node.name}: stopped")
    return lines


def prepare_replicated(settings: Settings, paths: ConfigPaths, replicas: int = 1) -> None:
    """The project's indices in place, each with ``replicas`` copies (the templates ship with 0).

    Index settings outlive the templates' later puts; a new index version (``muniwatch reindex``)
    starts with 0 again, so run this after a reindex too.
    """
    from pipeline import tasks
    from pipeline.store.client import make_client

    tasks.prepare(settings, paths)
    es = make_client(settings)
    try:
        es.indices.put_settings(
            index=f"{settings.index_prefix}-*",
            settings={"index": {"number_of_replicas": replicas}},
            expand_wildcards="all",
        )
    finally:
        es.close()


def main() -> int:
    """``python -m pipeline.local.cluster replicate``: docker-compose's init runs it against its cluster."""
    from pipeline.airflow_settings import config_paths_from_airflow
    from pipeline.settings import load_settings

    if sys.argv[1:] != ["replicate"]:
        print("usage: python -m pipeline.local.cluster replicate", file=sys.stderr)
        return 2
    prepare_replicated(load_settings(), config_paths_from_airflow(environ=os.environ))
    print("indices in place with one replica each")
    return 0


if __name__ == "__main__":
    sys.exit(main())
