"""The hostile-input suite: every case in tests/fixtures/hostile/ is refused or neutralised.

Each case is ``NAME.expect.json`` (what must happen and why) beside its data: ``NAME.xml`` or
``NAME.html`` (a feed or a page, parsed from bytes), ``NAME.tag.json`` (lines for ``muniwatch
tag``, long texts generated here), ``NAME.http.json`` (how the loopback server
misbehaves: gzip bomb, 100 MB body, slow drip, redirects; big bodies are generated here, never
committed), or ``NAME.feed.xml`` + ``NAME.page.html`` (run through the whole pipeline to a real
SMTP server). Adding a case is adding files; this test walks the folder.
"""

from __future__ import annotations

import io
import json
import time
import zlib
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

from pipeline.config import SourceConfig
from pipeline.fetch import client as http_client
from pipeline.fetch.client import SafeHTTPClient
from pipeline.fetch.extract import extract_article
from pipeline.runner import run_once
from pipeline.settings import REPO_ROOT, Settings
from pipeline.sources.feeds import parse_feed
from pipeline.tagging.commands import run_tag
from tests.support.builders import CA_DESK, write_config
from tests.support.http import LoopbackHTTPServer
from tests.support.smtp import LoopbackSMTPServer

pytestmark = pytest.mark.integration

HOSTILE = REPO_ROOT / "tests" / "fixtures" / "hostile"
CASES = sorted(HOSTILE.glob("*.expect.json"))
SOURCE = SourceConfig(id="hostile", kind="rss", url="https://hostile.example.org/feed.xml")
NOW = datetime(2025, 6, 9, 15, 0, tzinfo=UTC)


def _case(path: Path) -> tuple[str, dict[str, Any]]:
    return path.name.removesuffix(".expect.json"), json.loads(path.read_text(encoding="utf-8"))


def _data(name: str) -> Path:
    (found,) = [p for p in HOSTILE.glob(f"{name}.*") if not p.name.endswith(".expect.json")]
    return found


def _all_text(*values: object) -> str:
    return "\n".join(str(v) for v in values if v is not None)


# --- feeds and pages parsed from bytes ---------------------------------------------------------


def check_feed(name: str, expect: dict[str, Any]) -> None:
    feed = parse_feed(_data(name).read_bytes(), source=SOURCE, feed_url=SOURCE.url or "",
                      content_type=expect.get("content_type"))  # fmt: skip
    if "entries" in expect:
        assert len(feed.entries) == expect["entries"], feed.rejected
    assert len(feed.entries) >= expect.get("min_entries", 0)
    texts = _all_text(*(f"{e.title}\n{e.summary}" for e in feed.entries), feed.title)
    for absent in expect.get("absent", []):
        assert absent not in texts
    for entry in feed.entries:
        assert len(entry.title) + len(entry.summary) <= expect.get("max_text_chars", 10**9)
    for wanted in expect.get("title_contains", []):
        assert any(wanted in entry.title for entry in feed.entries), [e.title for e in feed.entries]
    if "problem_contains" in expect:
        assert expect["problem_contains"].lower() in (feed.problem or "").lower(), feed.problem
    if "published_between" in expect:
        low, high = (datetime.fromisoformat(d).replace(tzinfo=UTC) for d in expect["published_between"])
        dated = [e.published_at for e in feed.entries if e.published_at is not None]
        assert all(low <= when <= high for when in dated), dated
        assert len(dated) == expect["published_count"]


def check_page(name: str, expect: dict[str, Any]) -> None:
    article = extract_article(_data(name).read_bytes(), "https://hostile.example.org/page")
    assert article.has_article is expect["has_article"], article.reason
    for absent in expect.get("absent", []):
        assert absent not in article.text and absent not in article.title


def check_tag(name: str, expect: dict[str, Any]) -> None:
    lines = []
    for line in json.loads(_data(name).read_text(encoding="utf-8"))["lines"]:
        line = dict(line)
        line["text"] = line["text"] * line.pop("text_repeat", 1)
        lines.append(json.dumps(line))
    # A strict UTF-8 stream, as stdout is: what cannot be encoded raises, as it would for a user.
    raw = io.BytesIO()
    out = io.TextIOWrapper(raw, encoding="utf-8", errors="strict", newline="\n")
    errors = io.StringIO()
    code = run_tag(io.StringIO("\n".join(lines) + "\n"), out, errors)
    out.flush()
    results = [json.loads(row) for row in raw.getvalue().decode("utf-8").splitlines()]
    assert code == expect["exit_code"], errors.getvalue()
    assert [r["id"] for r in results] == expect["ids"]
    text = raw.getvalue().decode("utf-8")
    for absent in expect.get("absent", []):
        assert absent not in text
    for result in results:
        if result["id"] in expect.get("truncated", {}):
            assert result["text_truncated"] is True
            assert result["text_original_chars"] == expect["truncated"][result["id"]]
        else:
            assert "text_truncated" not in result


# --- a misbehaving server -----------------------------------------------------------------------


def _write_quietly(request: BaseHTTPRequestHandler, chunks: Any, pause_s: float = 0.0) -> None:
    try:
        for chunk in chunks:
            request.wfile.write(chunk)
            request.wfile.flush()
            if pause_s:
                time.sleep(pause_s)
    except (BrokenPipeError, ConnectionResetError):
        pass  # the client gave up, as it should


def _gzip_bomb(decoded_mb: int) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    zeros = bytes(1 << 20)
    return b"".join(packer.compress(zeros) for _ in range(decoded_mb)) + packer.flush()


def _route(spec: dict[str, Any], server: LoopbackHTTPServer) -> str:
    behaviour = spec["behaviour"]
    content_type = spec.get("content_type", "text/html; charset=utf-8")
    if behaviour == "gzip_bomb":
        body = _gzip_bomb(spec["decoded_mb"])
        return server.add("/bomb", body=body, content_type=content_type, headers={"Content-Encoding": "gzip"})
    if behaviour == "huge_body":
        block, blocks = b"<p>" + b"x" * 65_530 + b"</p>", spec["mb"] * 16

        def huge(request: BaseHTTPRequestHandler) -> None:
            request.send_response(200)
            request.send_header("Content-Type", content_type)
            if spec["content_length"]:
                request.send_header("Content-Length", str(len(block) * blocks))
            request.send_header("Connection", "close")
            request.end_headers()
            request.close_connection = True
            _write_quietly(request, (block for _ in range(blocks)))

        return server.add("/huge", handler=huge)
    if behaviour == "slow_drip":

        def drip(request: BaseHTTPRequestHandler) -> None:
            request.send_response(200)
            request.send_header("Content-Type", "text/html")
            request.send_header("Content-Length", str(spec["chunks"] * 16))
            request.end_headers()
            _write_quietly(
                request, (b"<p>drip, drip</p>"[:16] for _ in range(spec["chunks"])), spec["interval_s"]
            )

        return server.add("/drip", handler=drip)
    if behaviour == "slow_headers":

        def drip_headers(request: BaseHTTPRequestHandler) -> None:
            request.send_response_only(200)
            request.flush_headers()
            lines = (f"X-Drip-{n}: {n}\r\n".encode() for n in range(spec["headers"]))
            _write_quietly(request, lines, spec["interval_s"])

        return server.add("/drip-headers", handler=drip_headers)
    if behaviour == "status":
        return server.add("/status", status=spec["status"], headers=spec["headers"], body=b"")
    if behaviour == "redirect_loop":
        server.add("/b", status=302, headers={"Location": "/a"})
        return server.add("/a", status=302, headers={"Location": "/b"})
    if behaviour == "redirect_to":
        return server.add("/go", status=302, headers={"Location": spec["location"]})
    if behaviour == "body":
        return server.add("/body", body=spec["body"].encode("latin-1"), content_type=content_type)
    raise AssertionError(f"unknown behaviour {behaviour!r} in the case file")


def check_http(name: str, expect: dict[str, Any], settings: Settings, server: LoopbackHTTPServer) -> None:
    spec = json.loads(_data(name).read_text(encoding="utf-8"))
    url = _route(spec, server)
    client = SafeHTTPClient(settings, total_timeout_s=spec.get("client_total_timeout_s", 20.0))
    started = time.monotonic()
    try:
        with pytest.raises(http_client.FetchError) as caught:
            client.get(url, expect=expect["expect"])
    finally:
        client.close()
    # The deadline is a promise about the caller's wall clock, whatever the server does.
    assert time.monotonic() - started < expect.get("max_wall_s", 60.0)
    error = caught.value
    assert type(error).__name__ == expect["error"], error.reason
    assert expect["reason_contains"] in error.reason
    # The message names what was fetched: the URL asked for, or the hop that was refused.
    assert url in str(error) or spec.get("location", url) in str(error)
    if "transient" in expect:
        assert http_client.is_transient(error) is expect["transient"]


# --- through the whole pipeline to a real SMTP server ------------------------------------------


def check_pipeline(
    name: str, expect: dict[str, Any], settings: Settings, server: LoopbackHTTPServer,
    smtp: LoopbackSMTPServer, tmp_path: Path,
) -> None:  # fmt: skip
    for suffix, content_type in (
        (".feed.xml", "application/rss+xml"),
        (".page.html", "text/html; charset=utf-8"),
    ):
        body = (HOSTILE / f"{name}{suffix}").read_bytes().replace(b"{{BASE}}", server.base_url.encode())
        server.add(f"/{name}{suffix}", body=body, content_type=content_type)
    source = {
        "id": "hostile",
        "kind": "rss",
        "url": server.url(f"/{name}.feed.xml"),
        "home_state": expect["home_state"],
    }
    paths = write_config(tmp_path, sources=[source], subscriptions=[CA_DESK])
    summary = run_once(settings.with_overrides(smtp_url=smtp.url), paths, now=NOW)

    assert summary.ok, summary.problems
    assert summary.sources["hostile"].indexed == 1, summary.to_dict()
    messages = smtp.wait_for(expect["emails"])
    assert len(messages) == expect["emails"]
    assert [rcpt for _, rcpts in smtp.envelopes for rcpt in rcpts] == expect["recipients"]
    for message in messages:
        subject = str(message["Subject"])
        assert "\r" not in subject and "\n" not in subject
        assert len(subject) <= expect["subject_max_chars"]
        for header in expect.get("forbidden_headers", []):
            assert message[header] is None, f"{header} reached the e-mail headers"
        assert [str(v) for v in message.get_all("To", [])] == expect["recipients"]
        html_part = message.get_body(preferencelist=("html",))
        html = str(html_part.get_content()) if html_part is not None else ""
        for absent in expect.get("html_absent", []):
            assert absent not in html.lower()


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.name.removesuffix(".expect.json"))
def test_hostile_case(
    case: Path, request: pytest.FixtureRequest, http_server: LoopbackHTTPServer, tmp_path: Path,
    offline_settings: Settings,
) -> None:  # fmt: skip
    name, expect = _case(case)
    assert expect["outcome"] in {"refused", "neutralised"} and expect["why"], "a case says what and why"
    via = expect["via"]
    if via == "feed":
        check_feed(name, expect)
    elif via == "page":
        check_page(name, expect)
    elif via == "tag":
        check_tag(name, expect)
    elif via == "http":
        check_http(name, expect, offline_settings, http_server)
    elif via == "pipeline":
        settings: Settings = request.getfixturevalue("settings")
        request.getfixturevalue("es")
        smtp: LoopbackSMTPServer = request.getfixturevalue("smtp_server")
        check_pipeline(name, expect, settings, http_server, smtp, tmp_path)
    else:
        raise AssertionError(f"{case.name}: unknown 'via' {via!r}")


def test_every_case_has_its_data_and_every_data_file_its_case() -> None:
    expectations = {p.name.removesuffix(".expect.json") for p in CASES}
    data = {p.name.split(".")[0] for p in HOSTILE.iterdir() if not p.name.endswith(".expect.json")}
    assert data == expectations
