"""The one HTTP client for every fetch: feeds, article pages, linked articles.

``SafeHTTPClient(settings).get(url, expect="html")`` returns a :class:`FetchResult` with the
body as bytes (parsers get bytes, never URLs) or raises a :class:`FetchError` subclass whose
``reason`` a user can read ("refused: 10.0.0.5 is a private address", "body over 8 MiB", ...).

What it guarantees:

* **No SSRF.** Every connection, including each redirect hop, goes through a network backend that
  resolves the host itself, refuses the connection if *any* resolved address is private, loopback,
  link-local (cloud metadata 169.254.169.254), multicast, reserved or otherwise not global, and then
  connects to the address it checked, so a second DNS answer cannot slip in (no rebinding gap).
  Hosts named in ``MUNIWATCH_ALLOW_HOSTS`` (by the host written in the URL) are exempt. Proxies
  from the environment are ignored, as they would bypass the check.
* **Bounded.** Connect/read timeouts plus a total deadline that holds whatever the server does
  (enforced at the socket by ``guard.deadline_scope``: a server dripping a byte a second is cut
  off at the deadline, in the headers or the body); a cap on *decoded* bytes, enforced
  while decompressing chunk by chunk, so a gzip bomb stops after the cap, not after inflating;
  at most ``max_redirects`` hops, loops refused.
* **Polite.** An honest User-Agent, a minimum delay between requests to one host (thread-safe;
  threads wait their turn), conditional GET (``etag``/``last_modified`` in, ``not_modified`` out),
  ``Retry-After`` (seconds or HTTP date) surfaced as ``retry_after_s`` on the error. A 304 is
  "not modified" only when the request carried validators; otherwise it is an error.
* ``expect="html"`` refuses bodies that are not HTML (PDF, images, JSON...) before reading them;
  ``expect="feed"`` refuses obviously binary media.
"""

from __future__ import annotations

import logging
import threading
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from importlib.metadata import PackageNotFoundError, version
from typing import Any, Literal
from urllib.parse import urljoin

import httpx

from pipeline.fetch.errors import (
    BlockedAddress,
    ConnectFailed,
    FetchError,
    FetchTimeout,
    HTTPStatusError,
    InvalidURL,
    TooLarge,
    TooManyRedirects,
    UnexpectedContentType,
    is_transient,
)
from pipeline.fetch.guard import GuardedTransport, address_problem, deadline_scope, literal_ip
from pipeline.settings import Settings

__all__ = [
    "USER_AGENT",
    "BlockedAddress",
    "ConnectFailed",
    "FetchError",
    "FetchResult",
    "FetchTimeout",
    "HTTPStatusError",
    "HostPacer",
    "InvalidURL",
    "SafeHTTPClient",
    "TooLarge",
    "TooManyRedirects",
    "UnexpectedContentType",
    "address_problem",
    "is_transient",
    "parse_retry_after",
]

LOGGER = logging.getLogger(__name__)

try:
    _VERSION = version("muniwatch")
except PackageNotFoundError:  # running from a checkout without installing
    _VERSION = "0"
USER_AGENT = f"muniwatch/{_VERSION} (+https://github.com/muniwatch/muniwatch)"

DEFAULT_MAX_BYTES = 8 * 1024 * 1024
DEFAULT_MAX_REDIRECTS = 5
DEFAULT_TIMEOUT = httpx.Timeout(connect=10.0, read=20.0, write=10.0, pool=30.0)
DEFAULT_TOTAL_TIMEOUT_S = 60.0
DEFAULT_HOST_INTERVAL_S = 1.0
_CHUNK = 16 * 1024
# A Retry-After longer than this is taken as this: a server cannot park a source for years.
MAX_RETRY_AFTER_S = 7 * 86400.0
_REDIRECTS = {301, 302, 303, 307, 308}
_HTML_TYPES = ("text/html", "application/xhtml+xml")
_BINARY_PREFIXES = ("image/", "audio/", "video/", "font/")
_BINARY_TYPES = {"application/pdf", "application/zip", "application/gzip", "application/octet-stream"}

Expect = Literal["html", "feed", "any"]


# --- results ---------------------------------------------------------------------------------


@dataclass(kw_only=True)
class FetchResult:
    url: str
    final_url: str
    status: int
    headers: dict[str, str]
    body: bytes
    not_modified: bool
    content_type: str
    elapsed_s: float
    redirects: list[str] = field(default_factory=list)

    @property
    def etag(self) -> str | None:
        return self.headers.get("etag")

    @property
    def last_modified(self) -> str | None:
        return self.headers.get("last-modified")

    @property
    def charset(self) -> str | None:
        for part in self.headers.get("content-type", "").split(";")[1:]:
            key, _, value = part.strip().partition("=")
            if key.lower() == "charset" and value:
                return value.strip("\"' ")
        return None


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """``Retry-After`` as seconds from ``now``: delta-seconds or an HTTP date; None if absent/invalid."""
    if not value:
        return None
    value = value.strip()
    # ASCII digits only: str.isdigit() also accepts "²" or "٣", which float() refuses or misreads.
    if value.isascii() and value.isdigit():
        return min(float(value), MAX_RETRY_AFTER_S)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, OverflowError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return min(max(0.0, (when - now).total_seconds()), MAX_RETRY_AFTER_S)


# --- politeness ------------------------------------------------------------------------------


class HostPacer:
    """At most one request per ``interval_s`` to a host; thread-safe, each caller reserves a slot."""

    def __init__(self, interval_s: float, allowed_interval_s: float, allow_hosts: frozenset[str]) -> None:
        self.interval_s = interval_s
        self.allowed_interval_s = allowed_interval_s
        self.allow_hosts = allow_hosts
        self._next: dict[str, float] = {}
        self._lock = threading.Lock()

    def wait(self, host: str) -> float:
        """Sleep until this host may be asked again; returns the seconds waited."""
        interval = self.allowed_interval_s if host in self.allow_hosts else self.interval_s
        if interval <= 0:
            return 0.0
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next.get(host, 0.0))
            self._next[host] = slot + interval
        delay = slot - now
        if delay > 0:
            time.sleep(delay)
        return delay


# --- decoding with a cap ---------------------------------------------------------------------


def _decoder(encoding: str, url: str) -> Any:
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        return None
    if encoding in ("gzip", "x-gzip"):
        return zlib.decompressobj(16 + zlib.MAX_WBITS)
    if encoding == "deflate":
        return zlib.decompressobj()
    raise FetchError(f"unsupported Content-Encoding {encoding!r}", url=url)


def _read_capped(
    raw_chunks: Iterator[bytes], encoding: str, *, url: str, max_bytes: int, deadline: float
) -> bytes:
    decoder = _decoder(encoding, url)
    out = bytearray()
    too_large = TooLarge(f"body over the cap of {max_bytes:,} bytes (decoded); refused", url=url)
    for chunk in raw_chunks:
        if time.monotonic() > deadline:
            raise FetchTimeout("the whole download took longer than the total time limit", url=url)
        if decoder is None:
            out += chunk
        else:
            data = chunk
            while data:
                try:
                    piece = decoder.decompress(data, max_bytes - len(out) + 1)
                except zlib.error as error:
                    raise FetchError(f"corrupt {encoding} body: {error}", url=url) from error
                out += piece
                if len(out) > max_bytes:
                    raise too_large
                data = decoder.unconsumed_tail
        if len(out) > max_bytes:
            raise too_large
    if decoder is not None:
        out += decoder.flush()
    if len(out) > max_bytes:
        raise too_large
    return bytes(out)


def _check_content_type(content_type: str, expect: Expect, url: str) -> None:
    media = content_type.split(";")[0].strip().lower()
    if expect == "html" and media and media not in _HTML_TYPES:
        raise UnexpectedContentType(f"expected an HTML page but got {media}", url=url)
    if expect == "feed" and (media.startswith(_BINARY_PREFIXES) or media in _BINARY_TYPES):
        raise UnexpectedContentType(f"expected a feed but got {media}", url=url)


def _sniff_html(body: bytes, url: str) -> None:
    head = body[:1024].lstrip().lower()
    if head.startswith((b"%pdf", b"\x89png", b"gif8", b"\xff\xd8", b"pk\x03\x04", b"{", b"[")):
        raise UnexpectedContentType("expected an HTML page but the body is not HTML", url=url)


# --- the client ------------------------------------------------------------------------------


class SafeHTTPClient:
    """See the module docstring. Thread-safe; share one per process and ``close()`` it at the end.

    Args:
        settings: ``allow_hosts`` exempts hosts (as written in URLs) from the address checks.
        max_bytes: cap on the decoded body.
        max_redirects: hops followed, each re-checked.
        host_interval_s: minimum delay between two requests to one host.
        allowed_host_interval_s: the same for allow-listed hosts (local test and demo servers).
        total_timeout_s: deadline for one whole fetch, redirects and body included.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        max_redirects: int = DEFAULT_MAX_REDIRECTS,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        total_timeout_s: float = DEFAULT_TOTAL_TIMEOUT_S,
        host_interval_s: float = DEFAULT_HOST_INTERVAL_S,
        allowed_host_interval_s: float = 0.0,
        max_connections: int = 32,
    ) -> None:
        self.allow_hosts = frozenset(h.lower() for h in settings.allow_hosts)
        self.max_bytes = max_bytes
        self.max_redirects = max_redirects
        self.total_timeout_s = total_timeout_s
        self.pacer = HostPacer(host_interval_s, allowed_host_interval_s, self.allow_hosts)
        self._client = httpx.Client(
            transport=GuardedTransport(self.allow_hosts, max_connections),
            timeout=timeout,
            follow_redirects=False,
            trust_env=False,
            headers={"User-Agent": USER_AGENT, "Accept-Encoding": "gzip, deflate"},
        )

    def __enter__(self) -> SafeHTTPClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    def check_url(self, url: str) -> httpx.URL:
        """Parse ``url`` and refuse what can be refused before connecting (scheme, literal IPs)."""
        try:
            parsed = httpx.URL(url)
        except (httpx.InvalidURL, TypeError, ValueError) as error:
            raise InvalidURL(f"not a valid URL: {error}", url=url) from error
        if parsed.scheme not in ("http", "https"):
            raise InvalidURL(f"only http and https URLs are fetched, not {parsed.scheme or 'none'}:", url=url)
        if not parsed.host:
            raise InvalidURL("the URL has no host", url=url)
        host = parsed.host.lower()
        ip = literal_ip(host)
        if ip is not None and host not in self.allow_hosts:
            problem = address_problem(ip)
            if problem:
                raise BlockedAddress(f"refused: {problem}", url=url)
        return parsed

    def get(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        expect: Expect = "any",
        max_bytes: int | None = None,
    ) -> FetchResult:
        """Fetch ``url`` (following checked redirects); see the class and module docstrings.

        Args:
            etag, last_modified: validators from the previous fetch, for a conditional GET.
            expect: "html" refuses non-HTML, "feed" refuses binary media, "any" takes anything.
            max_bytes: overrides the client's cap for this call.
        Raises:
            FetchError: a subclass naming the reason; ``retry_after_s`` set when the server said so.
        """
        started = time.monotonic()
        deadline = started + self.total_timeout_s
        cap = max_bytes if max_bytes is not None else self.max_bytes
        headers = {"Accept": _ACCEPT[expect]}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        try:
            with deadline_scope(deadline):
                return self._get(url, headers, expect, cap, deadline, started)
        except FetchTimeout as error:
            if time.monotonic() < deadline:
                raise
            raise FetchTimeout(
                f"the whole fetch took longer than the total time limit of {self.total_timeout_s:g}s; "
                "cut off",
                url=url,
            ) from error

    def _get(
        self, url: str, headers: dict[str, str], expect: Expect, cap: int, deadline: float, started: float
    ) -> FetchResult:
        current = url
        hops: list[str] = []
        seen = {url}
        while True:
            parsed = self.check_url(current)
            self.pacer.wait(parsed.host.lower())
            with self._stream(parsed, headers, url) as response:
                status = response.status_code
                if status in _REDIRECTS and "location" in response.headers:
                    target = urljoin(current, response.headers["location"])
                    if target in seen:
                        raise TooManyRedirects(f"redirect loop back to {target}", url=url)
                    if len(hops) >= self.max_redirects:
                        raise TooManyRedirects(f"more than {self.max_redirects} redirects", url=url)
                    hops.append(target)
                    seen.add(target)
                    current = target
                    continue
                conditional = "If-None-Match" in headers or "If-Modified-Since" in headers
                return self._finish(url, current, hops, response, expect, cap, deadline, started, conditional)

    def _stream(self, current: httpx.URL, headers: dict[str, str], url: str) -> _Stream:
        # The URL as ``check_url`` parsed it: httpx does not parse it a second time.
        return _Stream(self._client, current, headers, url)

    def _finish(
        self,
        url: str,
        final_url: str,
        hops: list[str],
        response: httpx.Response,
        expect: Expect,
        cap: int,
        deadline: float,
        started: float,
        conditional: bool,
    ) -> FetchResult:
        status = response.status_code
        response_headers = {k.lower(): v for k, v in response.headers.items()}
        content_type = response_headers.get("content-type", "")
        if status == 304 and not conditional:
            # Nothing was asked conditionally, so "not modified" cannot be true; taking it as such
            # would hide a broken server (or a cache) as a quiet source forever.
            raise HTTPStatusError(
                "HTTP 304 Not Modified to a request without validators (no ETag/Last-Modified sent)",
                url=url,
                status=status,
            )
        if status == 304:
            return FetchResult(
                url=url, final_url=final_url, status=status, headers=response_headers, body=b"",
                not_modified=True, content_type=content_type, elapsed_s=time.monotonic() - started,
                redirects=hops,
            )  # fmt: skip
        if status >= 400 or status < 200 or status in _REDIRECTS:
            retry_after = parse_retry_after(response_headers.get("retry-after"), datetime.now(UTC))
            phrase = response.reason_phrase or "error"
            detail = f"; asked to retry after {retry_after:.0f}s" if retry_after is not None else ""
            raise HTTPStatusError(
                f"HTTP {status} {phrase}{detail}", url=url, status=status, retry_after_s=retry_after
            )
        _check_content_type(content_type, expect, final_url)
        declared = response_headers.get("content-length", "")
        if declared.isdigit() and int(declared) > cap:
            raise TooLarge(f"body of {int(declared):,} bytes is over the cap of {cap:,}; refused", url=url)
        try:
            body = _read_capped(
                response.iter_raw(_CHUNK),
                response_headers.get("content-encoding", ""),
                url=url,
                max_bytes=cap,
                deadline=deadline,
            )
        except httpx.TimeoutException as error:
            raise FetchTimeout(f"timed out reading the body ({type(error).__name__})", url=url) from error
        except httpx.TransportError as error:
            raise ConnectFailed(f"connection broke while reading: {error}", url=url) from error
        if expect == "html":
            _sniff_html(body, url)
        return FetchResult(
            url=url, final_url=final_url, status=status, headers=response_headers, body=body,
            not_modified=False, content_type=content_type, elapsed_s=time.monotonic() - started,
            redirects=hops,
        )  # fmt: skip


_ACCEPT: dict[Expect, str] = {
    "html": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.1",
    "feed": "application/rss+xml,application/atom+xml,application/rdf+xml,application/xml;q=0.9,"
    "text/xml;q=0.9,*/*;q=0.5",
    "any": "*/*",
}


class _Stream:
    """``with`` wrapper around ``client.stream`` that turns transport errors into FetchErrors."""

    def __init__(self, client: httpx.Client, current: httpx.URL, headers: dict[str, str], url: str) -> None:
        self.client, self.current, self.headers, self.url = client, current, headers, url
        self._context: Any = None

    def __enter__(self) -> httpx.Response:
        self._context = self.client.stream("GET", self.current, headers=self.headers)
        try:
            response: httpx.Response = self._context.__enter__()
        except FetchError as error:
            if not error.url:
                error.url = self.url
                error.args = (f"{self.url}: {error.reason}",)
            raise
        except httpx.TimeoutException as error:
            raise FetchTimeout(f"timed out ({type(error).__name__})", url=self.url) from error
        except httpx.TransportError as error:
            raise ConnectFailed(f"cannot connect: {error or type(error).__name__}", url=self.url) from error
        return response

    def __exit__(self, *exc: Any) -> None:
        if self._context is not None:
            self._context.__exit__(*exc)
