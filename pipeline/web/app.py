"""The Starlette application of ``muniwatch serve``.

- ``GET /unsubscribe?token=…`` — a confirmation page with one button; a GET never unsubscribes
  (mail scanners and link previews fetch links).
- ``POST /unsubscribe?token=…`` — unsubscribes; idempotent. Mail clients send it with the body
  ``List-Unsubscribe=One-Click`` (RFC 8058); the confirmation form sends the token in the body.
- ``GET /digest?token=…`` — the subscriber's pending daily digest as it would be sent now.
- ``GET /healthz`` — "ok" when Elasticsearch answers (for compose healthchecks).

A bad token gets a 400 page with a sentence, Elasticsearch down a 503, never a traceback. Tokens
travel in URLs, so responses say ``Referrer-Policy: no-referrer`` and are never cached, and the
server keeps no access log (see :mod:`pipeline.web.commands`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from elasticsearch import ApiError, Elasticsearch, TransportError
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Route

from pipeline.alerts.digests import pending_digest
from pipeline.alerts.render import render_digest, render_page, unsubscribe_link
from pipeline.alerts.subscriptions import Subscription, unsubscribe
from pipeline.alerts.tokens import InvalidTokenError, make_token, unsubscribe_secret
from pipeline.settings import Settings
from pipeline.web.access import MAX_TOKEN_LENGTH, authenticate

LOGGER = logging.getLogger(__name__)

HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; img-src https: data:; form-action 'self'; "
        "frame-ancestors 'none'"
    ),
}
# A one-click body is "List-Unsubscribe=One-Click"; a form adds the token. Anything larger is not ours.
MAX_FORM_BYTES = 4096
BAD_LINK = (
    "This link is not valid (it may be cut short, or the subscription was removed). Nothing was changed."
)


def _page(heading: str, message: str, *, status_code: int = 200, confirm_token: str = "") -> HTMLResponse:
    html = render_page("web_page.html", heading=heading, message=message, confirm_token=confirm_token)
    return HTMLResponse(html, status_code=status_code, headers=HEADERS)


def _unavailable(error: Exception) -> HTMLResponse:
    LOGGER.warning("Elasticsearch is not answering: %s", error)
    return _page(
        "Try again later",
        "muniwatch cannot reach its database right now; nothing was changed. "
        "Please try again in a few minutes.",
        status_code=503,
    )


def create_app(
    settings: Settings, es: Elasticsearch, *, clock: Callable[[], datetime] | None = None
) -> Starlette:
    """The application; ``es`` is shared by all requests (the client is thread-safe)."""
    now = clock or (lambda: datetime.now(UTC))

    async def token_of(request: Request) -> str:
        token = request.query_params.get("token", "")
        if token or request.method != "POST":
            return token
        # Only a body of announced, small size is read (a chunked or huge upload is not a click).
        length = request.headers.get("content-length", "")
        if not length.isdigit() or int(length) > MAX_FORM_BYTES:
            return ""
        form = await request.form(max_files=0, max_fields=4)
        value = form.get("token")
        return value[: MAX_TOKEN_LENGTH + 1] if isinstance(value, str) else ""

    async def unsubscribe_page(request: Request) -> Response:
        token = await token_of(request)
        try:
            subscription = await run_in_threadpool(authenticate, es, settings, token)
            if subscription.unsubscribed_at is not None:  # a second click: nothing to write
                return _page(
                    "Unsubscribed",
                    f"{subscription.email} was unsubscribed from “{subscription.id}” on "
                    f"{subscription.unsubscribed_at:%d %B %Y}; nothing more to do.",
                )
            if request.method == "GET":
                return _page(
                    "Unsubscribe",
                    f"Stop sending the muniwatch alerts of “{subscription.id}” to {subscription.email}?",
                    confirm_token=token,
                )
            done = await run_in_threadpool(lambda: unsubscribe(es, settings, token, now=now()))
        except InvalidTokenError as error:
            LOGGER.info("unsubscribe refused: %s", error)
            return _page("Unsubscribe", BAD_LINK, status_code=400)
        except (ApiError, TransportError) as error:
            return _unavailable(error)
        LOGGER.info("subscription %s unsubscribed through muniwatch serve", done.id)
        return _page(
            "Unsubscribed",
            f"{done.email} will no longer receive the muniwatch alerts of “{done.id}”. "
            "If this was a mistake, ask the newsroom's muniwatch operator to subscribe you again.",
        )

    async def digest_page(request: Request) -> Response:
        token = request.query_params.get("token", "")
        try:
            subscription = await run_in_threadpool(authenticate, es, settings, token)
            html = await run_in_threadpool(preview_html, es, settings, subscription, now())
        except InvalidTokenError as error:
            LOGGER.info("digest preview refused: %s", error)
            return _page("Digest preview", BAD_LINK, status_code=400)
        except (ApiError, TransportError) as error:
            return _unavailable(error)
        return HTMLResponse(html, headers=HEADERS)

    async def health(request: Request) -> Response:
        try:
            # not ping(): the local node answers HEAD / with 405
            await run_in_threadpool(lambda: es.cluster.health(timeout="2s"))
            alive = True
        except (ApiError, TransportError):
            alive = False
        return PlainTextResponse(
            "ok" if alive else "elasticsearch unreachable", status_code=200 if alive else 503
        )

    async def home(request: Request) -> Response:
        return _page(
            "muniwatch",
            "The links in your muniwatch e-mails lead here: to unsubscribe, or to preview your next digest.",
        )

    async def failure(request: Request, error: Exception) -> Response:
        LOGGER.exception("muniwatch serve: %s %s failed", request.method, request.url.path)
        return _page(
            "Sorry", "muniwatch could not handle this request. Please try again later.", status_code=500
        )

    return Starlette(
        exception_handlers={Exception: failure},
        routes=[
            Route("/", home, methods=["GET"]),
            Route("/unsubscribe", unsubscribe_page, methods=["GET", "POST"]),
            Route("/digest", digest_page, methods=["GET"]),
            Route("/healthz", health, methods=["GET"]),
        ],
    )


def preview_html(es: Elasticsearch, settings: Settings, subscription: Subscription, now: datetime) -> str:
    """The HTML of ``subscription``'s next digest as it stands now (nothing is sent or marked)."""
    _, stories = pending_digest(es, settings, subscription)
    link = unsubscribe_link(
        settings, make_token(unsubscribe_secret(settings), subscription.id, subscription.email)
    )
    return render_digest(
        subscription, stories, day=now.date().isoformat(), unsubscribe_link=link, preview=True
    ).html
