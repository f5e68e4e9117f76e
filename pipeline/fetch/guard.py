"""The SSRF guard of the HTTP client: which addresses may be reached, checked at connect time.

``GuardedTransport`` is an httpx transport whose network backend resolves the host itself,
refuses the connection when *any* resolved address is not public (loopback, private,
link-local and cloud metadata, multicast, reserved, ...), then connects to an address it
checked, so a second DNS answer cannot slip in between check and connect. Hosts in the allow
list (as written in URLs, e.g. ``MUNIWATCH_ALLOW_HOSTS``) are exempt.

The same backend enforces the client's **total deadline** at the socket: every connect, write and
read of the calling thread waits at most until the deadline set by :func:`deadline_scope`, so a
server that drips a byte every second (each read "succeeds", no per-read timeout ever fires)
is cut off when the deadline passes, in the headers as in the body.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

import certifi
import httpcore
import httpx

from pipeline.fetch.errors import BlockedAddress, ConnectFailed

_METADATA_IPS = {
    ipaddress.ip_address("169.254.169.254"),  # AWS, GCP, Azure, OpenStack
    ipaddress.ip_address("100.100.100.200"),  # Alibaba
    ipaddress.ip_address("fd00:ec2::254"),  # AWS IPv6
}


def address_problem(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """Why the fetcher must not connect to ``ip``, or None when it is a public address."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is not None:
            return address_problem(embedded)
    if ip in _METADATA_IPS:
        return f"{ip} is a cloud metadata address"
    for label, flag in (
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("unspecified", ip.is_unspecified),
        ("multicast", ip.is_multicast),
        ("reserved", ip.is_reserved),
        ("private", ip.is_private),
    ):
        if flag:
            return f"{ip} is a {label} address"
    if not ip.is_global:
        return f"{ip} is not a public address"
    return None


@lru_cache(maxsize=4096)  # asked once per request for the same few hosts
def literal_ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


# The deadline (time.monotonic()) of the fetch running on this thread; httpx's sync client reads
# and writes on the calling thread, so a thread-local reaches the socket calls of that fetch only.
_DEADLINE = threading.local()


@contextmanager
def deadline_scope(deadline: float) -> Iterator[None]:
    """Socket operations of this thread inside the block fail once ``deadline`` has passed."""
    previous = getattr(_DEADLINE, "at", None)
    _DEADLINE.at = deadline
    try:
        yield
    finally:
        _DEADLINE.at = previous


def _bounded(timeout: float | None, error: type[Exception]) -> float | None:
    """``timeout`` shortened to what is left before the thread's deadline; past it, ``error``."""
    deadline: float | None = getattr(_DEADLINE, "at", None)
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise error("the total time limit of the fetch has passed")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    """A network stream whose every operation ends by the deadline of the thread's fetch."""

    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _bounded(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _bounded(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        bounded = _bounded(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._stream.start_tls(ssl_context, server_hostname, bounded))

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class GuardedBackend(httpcore.SyncBackend):
    """Resolves, checks every address, connects to a checked address (never re-resolves)."""

    def __init__(self, allow_hosts: frozenset[str]) -> None:
        self.allow_hosts = allow_hosts

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        timeout = _bounded(timeout, httpcore.ConnectTimeout)
        if host.lower() in self.allow_hosts:
            stream = super().connect_tcp(host, port, timeout, local_address, socket_options)
            return _DeadlineStream(stream)
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except socket.gaierror as error:
            raise ConnectFailed(f"cannot resolve host {host!r}: {error.strerror}") from error
        addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
        for address in addresses:
            problem = address_problem(ipaddress.ip_address(address.split("%")[0]))
            if problem:
                raise BlockedAddress(f"refused: {host} resolves to {problem}")
        last_error: Exception | None = None
        for address in addresses:
            try:
                stream = super().connect_tcp(address, port, timeout, local_address, socket_options)
                return _DeadlineStream(stream)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as error:
                last_error = error
        assert last_error is not None
        raise last_error


class GuardedTransport(httpx.HTTPTransport):
    def __init__(self, allow_hosts: frozenset[str], max_connections: int) -> None:
        super().__init__(trust_env=False)
        self._pool = httpcore.ConnectionPool(
            ssl_context=ssl.create_default_context(cafile=certifi.where()),
            max_connections=max_connections,
            max_keepalive_connections=max_connections,
            keepalive_expiry=30.0,
            network_backend=GuardedBackend(allow_hosts),
        )
