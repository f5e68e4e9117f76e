"""The SSRF guard of the HTTP client: which addresses may be reached, checked at connect time.

``GuardedTransport`` is an httpx transport whose network backend resolves the host itself,
refuses the connection when *any* resolved address is not public (loopback, private,
link-local and cloud metadata, multicast, reserved, ...), then connects to an address it
checked, so a second DNS answer cannot slip in between check and connect. Hosts in the allow
list (as written in URLs, e.g. ``MUNIWATCH_ALLOW_HOSTS``) are exempt.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
from collections.abc import Iterable
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
        if host.lower() in self.allow_hosts:
            return super().connect_tcp(host, port, timeout, local_address, socket_options)
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
                return super().connect_tcp(address, port, timeout, local_address, socket_options)
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
