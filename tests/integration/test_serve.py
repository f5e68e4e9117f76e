"""``muniwatch serve`` over real HTTP on loopback against the real Elasticsearch: one-click unsubscribe
(RFC 8058) that a GET never triggers, tokens refused with a 400 page before anything is written,
and the digest preview (also as ``muniwatch subscribe preview``)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest
from elasticsearch import Elasticsearch

from pipeline.alerts import run_alerts
from pipeline.alerts.subscriptions import add_subscription, get_subscription
from pipeline.alerts.tokens import make_token, unsubscribe_secret
from pipeline.cli import main
from pipeline.config import SubscriptionConfig
from pipeline.settings import Settings
from pipeline.web.background import serving
from tests.integration.test_alerts_fixtures import T0, load_world

pytestmark = pytest.mark.integration

ONE_CLICK = {"List-Unsubscribe": "One-Click"}
NOW = datetime(2025, 6, 9, 17, 0, tzinfo=UTC)


@pytest.fixture()
def base_url(settings: Settings, es: Elasticsearch) -> Iterator[str]:
    with serving(settings, es) as url:
        yield url


def _subscribe(
    es: Elasticsearch, settings: Settings, subscription_id: str, email: str, **extra: object
) -> str:
    config = SubscriptionConfig.model_validate({"id": subscription_id, "email": email, **extra})
    add_subscription(es, settings, config, now=NOW)
    return make_token(unsubscribe_secret(settings), subscription_id, email)


def _names(es: Elasticsearch, prefix: str) -> tuple[set[str], set[str]]:
    indices = set(es.indices.get(index=f"{prefix}-*", allow_no_indices=True, expand_wildcards="all").body)
    templates = {t["name"] for t in es.indices.get_index_template().body["index_templates"]}
    return indices, {name for name in templates if name.startswith(f"{prefix}-")}


def test_get_asks_post_unsubscribes_once_and_again_is_harmless(
    es: Elasticsearch, settings: Settings, base_url: str
) -> None:
    token = _subscribe(es, settings, "desk", "desk@example.org")

    page = httpx.get(f"{base_url}/unsubscribe", params={"token": token})
    assert page.status_code == 200 and "<button" in page.text and "desk@example.org" in page.text
    assert page.headers["referrer-policy"] == "no-referrer" and page.headers["cache-control"] == "no-store"
    subscription = get_subscription(es, settings, "desk")
    assert subscription is not None and subscription.active  # a GET (a mail scanner) changes nothing

    # RFC 8058: token in the URI, "List-Unsubscribe=One-Click" in a form body
    first = httpx.post(f"{base_url}/unsubscribe", params={"token": token}, data=ONE_CLICK)
    assert first.status_code == 200 and "will no longer receive" in first.text
    subscription = get_subscription(es, settings, "desk")
    assert subscription is not None and not subscription.active and subscription.unsubscribed_at is not None
    again = httpx.post(f"{base_url}/unsubscribe", params={"token": token}, data=ONE_CLICK)
    assert again.status_code == 200
    assert get_subscription(es, settings, "desk") == subscription  # idempotent: nothing rewritten


def test_the_confirmation_form_sends_the_token_in_the_body(
    es: Elasticsearch, settings: Settings, base_url: str
) -> None:
    token = _subscribe(es, settings, "form-desk", "form@example.org")
    done = httpx.post(f"{base_url}/unsubscribe", data={"token": token})
    assert done.status_code == 200
    subscription = get_subscription(es, settings, "form-desk")
    assert subscription is not None and not subscription.active


def test_bad_tokens_get_a_400_page_and_write_nothing(
    es: Elasticsearch, settings: Settings, base_url: str
) -> None:
    signature = make_token(unsubscribe_secret(settings), "desk", "desk@example.org").split(".")[1]
    bad = [
        "",
        "garbage",
        "desk." + "A" * 43,  # forged signature
        "desk." + signature[:-1],  # cut short
        "dèsk." + signature,  # non-ASCII id
        "desk." + "é" * 43,  # non-ASCII signature, as long as a real one
        "desk." + signature + "x" * 5000,
        "../../_all." + signature,
    ]
    before = _names(es, settings.index_prefix)
    assert before == (set(), set())  # nothing exists under this prefix yet
    for token in bad:
        for response in (
            httpx.post(f"{base_url}/unsubscribe", params={"token": token}, data=ONE_CLICK),
            httpx.get(f"{base_url}/unsubscribe", params={"token": token}),
            httpx.get(f"{base_url}/digest", params={"token": token}),
        ):
            assert response.status_code == 400, (token, response.request.method, response.text[:200])
            assert "This link is not valid" in response.text
    assert _names(es, settings.index_prefix) == before  # no index, no template written


def test_a_token_for_another_subscription_or_address_changes_nothing(
    es: Elasticsearch, settings: Settings, base_url: str
) -> None:
    _subscribe(es, settings, "desk", "desk@example.org")
    other = _subscribe(es, settings, "other", "other@example.org")
    signature = other.split(".")[1]
    moved = make_token(unsubscribe_secret(settings), "desk", "old-address@example.org")
    for token in (f"desk.{signature}", moved):
        response = httpx.post(f"{base_url}/unsubscribe", params={"token": token}, data=ONE_CLICK)
        assert response.status_code == 400
    for subscription_id in ("desk", "other"):
        subscription = get_subscription(es, settings, subscription_id)
        assert subscription is not None and subscription.active


def test_digest_preview_shows_the_queued_stories_and_sends_nothing(
    es: Elasticsearch,
    settings: Settings,
    base_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    load_world(es, settings)
    run_alerts(es, settings, now=T0, digests=False)  # queues the daily subscriptions' stories
    token = make_token(unsubscribe_secret(settings), "terminations-daily", "west-desk@example.org")
    sent_before = sorted(settings.outbox.glob("*.eml"))  # the immediate alerts

    page = httpx.get(f"{base_url}/digest", params={"token": token})
    assert page.status_code == 200
    assert "Preview" in page.text and "Nothing has been sent" in page.text
    assert "Glendale, CA: ends ICE detention contract" in page.text
    assert "Hudson County, NJ: renews ICE agreement" in page.text
    assert page.text.index(">California</h2>") < page.text.index(">New Jersey</h2>")
    assert sorted(settings.outbox.glob("*.eml")) == sent_before  # previewing sends nothing

    monkeypatch.setenv("MUNIWATCH_INDEX_PREFIX", settings.index_prefix)
    monkeypatch.setenv("MUNIWATCH_VAR_DIR", str(settings.var_dir))
    monkeypatch.setenv("MUNIWATCH_UNSUBSCRIBE_SECRET", settings.unsubscribe_secret or "")
    html = settings.outbox.parent / "preview.html"
    assert main(["subscribe", "preview", "terminations-daily", "--html", str(html)]) == 0
    out, err = capsys.readouterr()
    assert "PREVIEW" in out and "Glendale, CA: ends ICE detention contract" in out
    assert f"/digest?token={token}" in err
    assert "Hudson County, NJ: renews ICE agreement" in html.read_text(encoding="utf-8")
    assert main(["subscribe", "preview", "nobody"]) == 1
    assert "no subscription with id 'nobody'" in capsys.readouterr().err


def test_elasticsearch_down_is_a_503_page_not_a_traceback(settings: Settings) -> None:
    closed = Elasticsearch("http://127.0.0.1:9", max_retries=0, request_timeout=2)
    token = make_token(b"k", "desk", "desk@example.org")
    with serving(settings, closed) as url:
        response = httpx.post(f"{url}/unsubscribe", params={"token": token}, data=ONE_CLICK)
        health = httpx.get(f"{url}/healthz")
    assert response.status_code == 503 and "nothing was changed" in response.text
    assert health.status_code == 503


def test_the_serve_command_answers_on_its_port(settings: Settings, es: Elasticsearch) -> None:
    import os
    import subprocess
    import sys
    import time

    from tests.support.smtp import free_port

    port = free_port()
    env = {
        **os.environ,
        "MUNIWATCH_INDEX_PREFIX": settings.index_prefix,
        "MUNIWATCH_VAR_DIR": str(settings.var_dir),
    }
    command = [sys.executable, "-m", "pipeline.cli", "serve", "--port", str(port)]
    process = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                home = httpx.get(f"http://127.0.0.1:{port}/", timeout=2)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline and process.poll() is None, "serve did not start"
                time.sleep(0.3)
        assert home.status_code == 200 and "muniwatch" in home.text
        assert httpx.get(f"http://127.0.0.1:{port}/healthz").text == "ok"
    finally:
        process.terminate()
        _, err = process.communicate(timeout=15)
    assert f"listening on http://127.0.0.1:{port}/" in err and "Traceback" not in err


def test_make_up_starts_serve_and_make_down_stops_it(
    settings: Settings, es: Elasticsearch, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os
    import threading

    from pipeline.local import stack
    from tests.support.smtp import free_port

    port = free_port()
    monkeypatch.setattr(stack, "SERVE_PORT", port)
    monkeypatch.delenv("MUNIWATCH_PUBLIC_URL", raising=False)
    serve = stack.components(settings)["serve"]
    env = stack.airflow_environment(
        settings, demo=True, overrides={"MUNIWATCH_INDEX_PREFIX": settings.index_prefix}
    )
    line = stack._start_serve(serve, env)
    try:
        pid = serve.pid()
        assert pid is not None and line.endswith(f"http://127.0.0.1:{port}/")
        assert httpx.get(f"http://127.0.0.1:{port}/healthz").text == "ok"
        assert stack._start_serve(serve, env) == line and serve.pid() == pid  # idempotent
        # here the test process is its parent (under `make up` it is not): reap it when it exits
        threading.Thread(target=os.waitpid, args=(pid, 0), daemon=True).start()
    finally:
        assert serve.stop()
    assert not os.path.exists(f"/proc/{pid}") and serve.pid() is None
    with pytest.raises(httpx.TransportError):
        httpx.get(f"http://127.0.0.1:{port}/healthz")


def test_a_large_or_chunked_body_is_not_read_as_a_click(
    es: Elasticsearch, settings: Settings, base_url: str
) -> None:
    token = _subscribe(es, settings, "desk", "desk@example.org")
    padded = httpx.post(f"{base_url}/unsubscribe", data={"token": token, "pad": "x" * 10_000})
    chunked = httpx.post(f"{base_url}/unsubscribe", content=iter([f"token={token}".encode()]),
                         headers={"content-type": "application/x-www-form-urlencoded"})  # fmt: skip
    assert (padded.status_code, chunked.status_code) == (400, 400)
    subscription = get_subscription(es, settings, "desk")
    assert subscription is not None and subscription.active
