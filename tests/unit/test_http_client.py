"""Pure parts of the HTTP client: address checks, Retry-After, capped decoding."""

from __future__ import annotations

import gzip
import ipaddress
import time
import zlib
from datetime import UTC, datetime

import pytest

from pipeline.fetch.client import (
    FetchTimeout,
    HostPacer,
    HTTPStatusError,
    TooLarge,
    UnexpectedContentType,
    _read_capped,
    address_problem,
    is_transient,
    parse_retry_after,
)

pytestmark = pytest.mark.unit

NOW = datetime(2025, 6, 9, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("address", "says"),
    [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("169.254.169.254", "cloud metadata"),
        ("169.254.1.1", "link-local"),
        ("fe80::1", "link-local"),
        ("fd00:ec2::254", "cloud metadata"),
        ("fc00::1", "private"),
        ("100.64.0.1", "not a public"),
        ("100.100.100.200", "cloud metadata"),
        ("224.0.0.1", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("240.0.0.1", "reserved"),
        ("::ffff:127.0.0.1", "loopback"),
        ("::ffff:10.0.0.1", "private"),
        ("2002:7f00:1::", "loopback"),  # 6to4 wrapping 127.0.0.1
    ],
)
def test_non_public_addresses_are_refused_with_the_reason(address: str, says: str) -> None:
    problem = address_problem(ipaddress.ip_address(address))
    assert problem is not None and says in problem


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111"])
def test_public_addresses_pass(address: str) -> None:
    assert address_problem(ipaddress.ip_address(address)) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("120", 120.0),
        (" 0 ", 0.0),
        ("Mon, 09 Jun 2025 12:05:00 GMT", 300.0),
        ("Mon, 09 Jun 2025 11:00:00 GMT", 0.0),  # in the past: retry now, never negative
        ("soon", None),
        ("", None),
        (None, None),
    ],
)
def test_retry_after_seconds_or_http_date(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, NOW) == expected


def _chunks(data: bytes, size: int = 16384) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


def test_gzip_bomb_stops_at_the_cap_without_inflating_everything() -> None:
    bomb = gzip.compress(b"\0" * (200 * 1024 * 1024), compresslevel=9)  # 200 MiB of zeros, ~200 KiB
    assert len(bomb) < 1024 * 1024
    consumed = 0

    def feed() -> object:
        nonlocal consumed
        for chunk in _chunks(bomb):
            consumed += len(chunk)
            yield chunk

    started = time.monotonic()
    with pytest.raises(TooLarge) as raised:
        _read_capped(feed(), "gzip", url="http://x/", max_bytes=1024 * 1024, deadline=time.monotonic() + 30)  # type: ignore[arg-type]
    assert "cap" in raised.value.reason
    assert consumed <= 2 * 16384  # stopped on the first compressed chunk or so
    assert time.monotonic() - started < 1.0


def test_capped_decoding_roundtrips_gzip_and_deflate() -> None:
    text = b"<html>" + b"county jail " * 1000 + b"</html>"
    assert _read_capped(iter(_chunks(gzip.compress(text), 100)), "gzip", url="u", max_bytes=10**6,
                        deadline=time.monotonic() + 5) == text  # fmt: skip
    assert _read_capped(iter(_chunks(zlib.compress(text), 100)), "deflate", url="u", max_bytes=10**6,
                        deadline=time.monotonic() + 5) == text  # fmt: skip
    with pytest.raises(TooLarge):
        _read_capped(iter(_chunks(text, 100)), "", url="u", max_bytes=100, deadline=time.monotonic() + 5)


def test_transient_errors_are_the_ones_worth_retrying() -> None:
    assert is_transient(HTTPStatusError("x", status=503))
    assert is_transient(HTTPStatusError("x", status=429, retry_after_s=10))
    assert not is_transient(HTTPStatusError("x", status=404))
    assert is_transient(FetchTimeout("x"))
    assert not is_transient(TooLarge("x"))
    assert not is_transient(UnexpectedContentType("x"))
    assert not is_transient(ValueError("x"))


def test_host_pacer_spaces_requests_to_one_host_only() -> None:
    pacer = HostPacer(0.2, 0.0, frozenset({"localhost"}))
    assert pacer.wait("a.example") == 0.0
    waited = pacer.wait("a.example")
    assert 0.1 < waited <= 0.2
    assert pacer.wait("b.example") == 0.0
    assert pacer.wait("localhost") == 0.0 and pacer.wait("localhost") == 0.0
