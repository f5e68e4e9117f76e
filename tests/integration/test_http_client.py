"""The HTTP client against a real server on loopback: what a site operator would see, and what
the fetcher refuses."""

from __future__ import annotations

import contextlib
import gzip
import socket
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler

import httpx
import pytest

from pipeline.fetch.client import (
    USER_AGENT,
    BlockedAddress,
    ConnectFailed,
    FetchTimeout,
    HTTPStatusError,
    SafeHTTPClient,
    TooLarge,
    TooManyRedirects,
    UnexpectedContentType,
    is_transient,
)
from pipeline.settings import Settings
from tests.support.http import LoopbackHTTPServer, Route

pytestmark = pytest.mark.integration

HTML = (
    b"<!doctype html><html><head><title>t</title></head><body><p>County ends ICE contract</p></body></html>"
)


@pytest.fixture()
def client(offline_settings: Settings) -> SafeHTTPClient:
    return SafeHTTPClient(offline_settings)


def _redirect(location: str, status: int = 302) -> Route:
    return Route(status=status, headers={"Location": location}, body=b"")


def _raw(write: Callable[[BaseHTTPRequestHandler], None]) -> Route:
    return Route(handler=write)


def test_fetch_returns_bytes_and_sends_an_honest_user_agent(
    client: SafeHTTPClient, http_server: LoopbackHTTPServer
) -> None:
    url = http_server.add("/page.html", body=HTML)
    result = client.get(url, expect="html")
    assert result.body == HTML and result.status == 200 and not result.not_modified
    assert result.content_type.startswith("text/html") and result.charset == "utf-8"
    seen = http_server.seen("/page.html")[0]
    assert seen.headers["user-agent"] == USER_AGENT
    assert USER_AGENT.startswith("muniwatch/") and "+https://github.com/muniwatch/muniwatch" in USER_AGENT


def test_conditional_get_with_etag_and_last_modified_gets_304(
    client: SafeHTTPClient, http_server: LoopbackHTTPServer
) -> None:
    url = http_server.add("/feed.xml", body=b"<rss/>", content_type="application/rss+xml", etag='"v1"')
    first = client.get(url, expect="feed")
    assert first.etag == '"v1"'
    second = client.get(url, etag=first.etag, expect="feed")
    assert second.not_modified and second.status == 304 and second.body == b""
    assert http_server.seen("/feed.xml")[1].headers["if-none-match"] == '"v1"'

    stamp = "Mon, 09 Jun 2025 10:00:00 GMT"
    url = http_server.add("/lm.xml", body=b"<rss/>", content_type="text/xml", last_modified=stamp)
    assert client.get(url).last_modified == stamp
    assert client.get(url, last_modified=stamp).not_modified
    assert http_server.seen("/lm.xml")[1].headers["if-modified-since"] == stamp


def test_gzip_body_is_decoded(client: SafeHTTPClient, http_server: LoopbackHTTPServer) -> None:
    url = http_server.add("/gz.html", body=HTML, gzip=True)
    assert client.get(url, expect="html").body == HTML
    assert "gzip" in http_server.seen("/gz.html")[0].headers["accept-encoding"]


def test_gzip_bomb_is_refused_early(offline_settings: Settings, http_server: LoopbackHTTPServer) -> None:
    bomb = gzip.compress(b"<html>" + b" " * (300 * 1024 * 1024), compresslevel=9)

    def send(request: BaseHTTPRequestHandler) -> None:
        request.send_response(200)
        request.send_header("Content-Type", "text/html")
        request.send_header("Content-Encoding", "gzip")
        request.send_header("Content-Length", str(len(bomb)))
        request.end_headers()
        with contextlib.suppress(OSError):  # the client hangs up once it has enough: the point
            request.wfile.write(bomb)

    url = http_server.add("/bomb.html", _raw(send))
    started = time.monotonic()
    with pytest.raises(TooLarge) as raised:
        SafeHTTPClient(offline_settings, max_bytes=2 * 1024 * 1024).get(url, expect="html")
    assert "decoded" in raised.value.reason and raised.value.url == url
    assert time.monotonic() - started < 2.0


def test_body_over_the_cap_is_refused_with_or_without_content_length(
    offline_settings: Settings, http_server: LoopbackHTTPServer
) -> None:
    small = SafeHTTPClient(offline_settings, max_bytes=1000)
    declared = http_server.add("/big.xml", body=b"x" * 5000, content_type="text/xml")
    with pytest.raises(TooLarge, match="over the cap"):
        small.get(declared)

    def stream(request: BaseHTTPRequestHandler) -> None:
        request.send_response(200)
        request.send_header("Content-Type", "text/xml")
        request.send_header("Connection", "close")
        request.end_headers()
        for _ in range(50):
            request.wfile.write(b"y" * 100)
        request.close_connection = True

    undeclared = http_server.add("/stream.xml", _raw(stream))
    with pytest.raises(TooLarge):
        small.get(undeclared)


def test_redirects_are_followed_and_reported(client: SafeHTTPClient, http_server: LoopbackHTTPServer) -> None:
    http_server.add("/final.html", body=HTML)
    http_server.add("/hop2", _redirect("/final.html", 301))
    start = http_server.add("/hop1", _redirect(http_server.url("/hop2")))
    result = client.get(start, expect="html")
    assert result.final_url == http_server.url("/final.html")
    assert result.redirects == [http_server.url("/hop2"), http_server.url("/final.html")]
    assert result.url == start


def test_redirect_loops_and_long_chains_are_refused(
    offline_settings: Settings, http_server: LoopbackHTTPServer
) -> None:
    http_server.add("/a", _redirect("/b"))
    http_server.add("/b", _redirect("/a"))
    with pytest.raises(TooManyRedirects, match="loop"):
        SafeHTTPClient(offline_settings).get(http_server.url("/a"))
    for n in range(6):
        http_server.add(f"/chain{n}", _redirect(f"/chain{n + 1}"))
    http_server.add("/chain6", body=HTML)
    with pytest.raises(TooManyRedirects, match="more than 3"):
        SafeHTTPClient(offline_settings, max_redirects=3).get(http_server.url("/chain0"))


# --- SSRF ----------------------------------------------------------------------------------------


def test_loopback_is_refused_unless_allowed(
    offline_settings: Settings, http_server: LoopbackHTTPServer
) -> None:
    url = http_server.add("/page.html", body=HTML)
    strict = SafeHTTPClient(offline_settings.with_overrides(allow_hosts=frozenset()))
    with pytest.raises(BlockedAddress, match="loopback") as raised:
        strict.get(url)
    assert not is_transient(raised.value)
    assert http_server.seen("/page.html") == []


def test_hostname_resolving_to_loopback_is_refused_at_connect_time(
    offline_settings: Settings, http_server: LoopbackHTTPServer
) -> None:
    http_server.add("/page.html", body=HTML)
    # 127.0.0.1 is allowed as written, but "localhost" is a name that resolves to it.
    only_ip = SafeHTTPClient(offline_settings.with_overrides(allow_hosts=frozenset({"127.0.0.1"})))
    with pytest.raises(BlockedAddress, match=r"localhost resolves to .* loopback"):
        only_ip.get(f"http://localhost:{http_server.port}/page.html")
    # The same for numeric spellings the resolver accepts.
    with pytest.raises(BlockedAddress):
        only_ip.get(f"http://2130706433:{http_server.port}/page.html")
    assert http_server.seen("/page.html") == []


@pytest.mark.parametrize(
    "target",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.7/admin",
        "http://[::ffff:127.0.0.1]/",
        "http://0.0.0.0/",
    ],
)
def test_redirect_to_internal_addresses_is_refused(
    offline_settings: Settings, http_server: LoopbackHTTPServer, target: str
) -> None:
    start = http_server.add("/go", _redirect(target))
    client = SafeHTTPClient(offline_settings.with_overrides(allow_hosts=frozenset({"127.0.0.1"})))
    with pytest.raises(BlockedAddress, match="refused"):
        client.get(start)


def test_redirect_from_allowed_name_to_loopback_ip_is_refused(
    offline_settings: Settings, http_server: LoopbackHTTPServer
) -> None:
    http_server.add("/secret", body=b"secret", content_type="text/plain")
    http_server.add("/go", _redirect(f"http://127.0.0.1:{http_server.port}/secret"))
    client = SafeHTTPClient(offline_settings.with_overrides(allow_hosts=frozenset({"localhost"})))
    with pytest.raises(BlockedAddress, match="loopback"):
        client.get(f"http://localhost:{http_server.port}/go")
    assert http_server.seen("/secret") == []


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "ftp://example.org/x", "gopher://x/", "http:///nohost"]
)
def test_only_http_urls_with_a_host(client: SafeHTTPClient, url: str) -> None:
    with pytest.raises(Exception) as raised:
        client.get(url)
    assert getattr(raised.value, "reason", "")


# --- content types, statuses, timeouts ------------------------------------------------------------


@pytest.mark.parametrize(
    ("content_type", "body"),
    [("application/pdf", b"%PDF-1.7"), ("image/png", b"\x89PNG"), ("application/json", b"{}")],
)
def test_non_html_is_refused_where_html_is_expected(
    client: SafeHTTPClient, http_server: LoopbackHTTPServer, content_type: str, body: bytes
) -> None:
    url = http_server.add("/doc", body=body, content_type=content_type)
    with pytest.raises(UnexpectedContentType, match="expected an HTML page"):
        client.get(url, expect="html")
    assert client.get(url).body == body  # "any" takes it


def test_unlabelled_pdf_is_refused_by_sniffing(
    client: SafeHTTPClient, http_server: LoopbackHTTPServer
) -> None:
    url = http_server.add("/doc", body=b"%PDF-1.4 ...", content_type="")
    with pytest.raises(UnexpectedContentType):
        client.get(url, expect="html")


def test_feeds_with_loose_types_are_accepted_binary_is_not(
    client: SafeHTTPClient, http_server: LoopbackHTTPServer
) -> None:
    assert client.get(http_server.add("/f1", body=b"<rss/>", content_type="text/html"), expect="feed").body
    assert client.get(http_server.add("/f2", body=b"<rss/>", content_type="text/plain"), expect="feed").body
    with pytest.raises(UnexpectedContentType, match="expected a feed"):
        client.get(http_server.add("/f3", body=b"\x89PNG", content_type="image/png"), expect="feed")


def test_429_with_retry_after_is_surfaced(client: SafeHTTPClient, http_server: LoopbackHTTPServer) -> None:
    url = http_server.add("/slow-down", status=429, body=b"", headers={"Retry-After": "120"})
    with pytest.raises(HTTPStatusError) as raised:
        client.get(url)
    assert raised.value.status == 429 and raised.value.retry_after_s == 120.0
    assert is_transient(raised.value) and "retry after 120s" in raised.value.reason


def test_server_errors_are_transient_client_errors_are_not(
    client: SafeHTTPClient, http_server: LoopbackHTTPServer
) -> None:
    with pytest.raises(HTTPStatusError) as raised:
        client.get(http_server.add("/boom", status=500, body=b"oops"))
    assert raised.value.status == 500 and is_transient(raised.value) and "HTTP 500" in raised.value.reason
    with pytest.raises(HTTPStatusError) as raised:
        client.get(http_server.url("/missing"))
    assert raised.value.status == 404 and not is_transient(raised.value)


def test_timeout_is_a_transient_error(offline_settings: Settings, http_server: LoopbackHTTPServer) -> None:
    url = http_server.add("/sleepy", body=HTML, delay_s=1.5)
    quick = SafeHTTPClient(offline_settings, timeout=httpx.Timeout(0.3))
    with pytest.raises(FetchTimeout) as raised:
        quick.get(url)
    assert is_transient(raised.value) and "timed out" in raised.value.reason


def test_connection_refused_is_a_transient_error(client: SafeHTTPClient) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(ConnectFailed) as raised:
        client.get(f"http://127.0.0.1:{port}/")
    assert is_transient(raised.value)


def test_requests_to_one_host_are_spaced_across_threads(
    offline_settings: Settings, http_server: LoopbackHTTPServer
) -> None:
    url = http_server.add("/p", body=HTML)
    polite = SafeHTTPClient(offline_settings, host_interval_s=0.25, allowed_host_interval_s=0.25)
    started = time.monotonic()
    threads = [threading.Thread(target=polite.get, args=(url,)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert time.monotonic() - started >= 0.7  # 4 requests, 3 gaps of 0.25 s
    assert len(http_server.seen("/p")) == 4
