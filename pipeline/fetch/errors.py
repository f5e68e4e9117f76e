"""Typed fetch errors: each carries a ``reason`` a user can read and act on.

Raised by the HTTP client (``pipeline.fetch.client``, which re-exports them) and by the X source
(``pipeline.sources.x``); ``is_transient`` tells a retry-later failure from a give-up one.
"""

from __future__ import annotations

import httpx

_TRANSIENT_STATUS = {408, 425, 429, 500, 502, 503, 504}


class FetchError(Exception):
    """A fetch failed. ``reason`` says why in words a user can act on."""

    transient = False

    def __init__(
        self,
        reason: str,
        *,
        url: str = "",
        status: int | None = None,
        retry_after_s: float | None = None,
    ) -> None:
        self.reason = reason
        self.url = url
        self.status = status
        self.retry_after_s = retry_after_s
        super().__init__(f"{url}: {reason}" if url else reason)


class InvalidURL(FetchError):
    """Not an http(s) URL with a host."""


class BlockedAddress(FetchError):
    """The URL or a redirect points at an address the fetcher must not reach (SSRF guard)."""


class TooLarge(FetchError):
    """The decoded body is over the cap."""


class TooManyRedirects(FetchError):
    """More hops than allowed, or a redirect loop."""


class UnexpectedContentType(FetchError):
    """Not the kind of document the caller expects (e.g. a PDF where HTML was expected)."""


class FetchTimeout(FetchError):
    transient = True


class ConnectFailed(FetchError):
    """DNS failure, refused or reset connection, TLS failure."""

    transient = True


class HTTPStatusError(FetchError):
    """The server answered with an error status; 5xx, 408 and 429 are transient."""

    @property
    def transient(self) -> bool:  # type: ignore[override]
        return self.status in _TRANSIENT_STATUS


def is_transient(error: BaseException) -> bool:
    """Worth retrying later (timeouts, connection failures, 5xx, 429) rather than giving up."""
    if isinstance(error, FetchError):
        return bool(error.transient)
    return isinstance(error, httpx.TransportError | OSError)
