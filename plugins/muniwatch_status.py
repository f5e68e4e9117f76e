"""The *muniwatch status* view inside the Airflow UI, and the one-click unsubscribe endpoint.

A FastAPI app mounted by the Airflow API server under ``/muniwatch``:

- ``GET /muniwatch/status`` — HTML: per-source health, items and stories per day, alert e-mails
  sent, pipeline backlog, open quarantine. Needs an Airflow login (the UI's session cookie).
- ``GET /muniwatch/status.json`` — the same figures as JSON (same login).
- ``GET /muniwatch/unsubscribe?token=…`` — a confirmation page with one button (a GET never
  unsubscribes: mail scanners follow links).
- ``POST /muniwatch/unsubscribe?token=…`` — unsubscribes. Mail clients send it with the body
  ``List-Unsubscribe=One-Click`` (RFC 8058) when the message carries ``List-Unsubscribe-Post``.
  The signed token is the credential; no Airflow login.

Settings come from the API server's Connections and Variables with the environment on top, as
for tasks (``pipeline.airflow_settings``).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, Form, HTTPException
from fastapi.responses import HTMLResponse, JSONResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from pipeline import airflow_settings
from pipeline.ops import status as ops_status
from pipeline.settings import Settings
from pipeline.store.client import make_client

LOGGER = logging.getLogger(__name__)

_TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
)

STATUS_TEMPLATE = _TEMPLATES.get_template("muniwatch_status.html")

UNSUBSCRIBE_TEMPLATE = _TEMPLATES.get_template("muniwatch_unsubscribe.html")


def _server_connection(conn_id: str) -> airflow_settings.ConnectionFields | None:
    try:
        from airflow.models.connection import Connection

        return airflow_settings.ConnectionFields.from_object(Connection.get_connection_from_secrets(conn_id))
    except Exception:  # not defined, or no metadata DB: the environment decides
        return None


def _server_variables() -> dict[str, str | None]:
    try:
        from airflow.models.variable import Variable

        return {name: Variable.get(name, default_var=None) for name in airflow_settings.SETTING_VARIABLES}
    except Exception:
        return {}


def server_settings() -> Settings:
    return airflow_settings.settings_from_airflow(
        es=_server_connection(airflow_settings.ES_CONN_ID),
        smtp=_server_connection(airflow_settings.SMTP_CONN_ID),
        variables=_server_variables(),
        environ=os.environ,
    )


def render_status(snapshot: ops_status.StatusSnapshot) -> str:
    peak = max((d.items_indexed for d in snapshot.days), default=0)
    return STATUS_TEMPLATE.render(s=snapshot, peak=peak)


def _airflow_user_dependency() -> Callable[..., Any]:
    """The API server's login check; outside Airflow (unit tests) no check."""
    try:
        from airflow.api_fastapi.core_api.security import get_user
    except ImportError:  # pragma: no cover - Airflow is always installed with the plugin
        return lambda: None
    return get_user


def create_app(
    settings_factory: Callable[[], Settings] = server_settings,
    *,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    require_login: bool = True,
) -> FastAPI:
    """The app; tests pass their own settings, clock and ``require_login=False``."""
    app = FastAPI(title="muniwatch status", docs_url=None, redoc_url=None, openapi_url=None)
    login: list[Any] = [Depends(_airflow_user_dependency())] if require_login else []

    def snapshot() -> ops_status.StatusSnapshot:
        settings = settings_factory()
        es = make_client(settings)
        try:
            return ops_status.status_snapshot(es, settings, now=clock())
        finally:
            es.close()

    @app.get("/status", response_class=HTMLResponse, dependencies=login)
    def status_page() -> HTMLResponse:
        return HTMLResponse(render_status(snapshot()))

    @app.get("/status.json", dependencies=login)
    def status_json() -> JSONResponse:
        return JSONResponse(snapshot().to_dict())

    def page(heading: str, message: str, *, status_code: int = 200, token: str = "") -> HTMLResponse:
        html = UNSUBSCRIBE_TEMPLATE.render(heading=heading, message=message, confirm=bool(token), token=token)
        return HTMLResponse(html, status_code=status_code)

    @app.get("/unsubscribe", response_class=HTMLResponse)
    def unsubscribe_form(token: str = "") -> HTMLResponse:
        if not token:
            return page("Unsubscribe", "This link has no token: use the link in the e-mail.", status_code=400)
        return page("Unsubscribe", "Stop receiving these muniwatch alerts?", token=token)

    @app.post("/unsubscribe", response_class=HTMLResponse)
    def unsubscribe(token: str = "", form_token: str = Form("", alias="token")) -> HTMLResponse:
        # RFC 8058: the token is in the URI and the body is "List-Unsubscribe=One-Click"; the
        # confirmation form sends the token in the body instead.
        chosen = token or form_token
        if not chosen:
            raise HTTPException(status_code=400, detail="missing unsubscribe token")
        from pipeline.alerts.tokens import InvalidTokenError, check_token_form

        try:  # the form first: a malformed token never reaches Elasticsearch (nor writes to it)
            chosen = check_token_form(chosen)
        except InvalidTokenError as error:
            LOGGER.info("unsubscribe refused: %s", error)
            return page("Unsubscribe failed", "This unsubscribe link is not valid.", status_code=400)
        try:
            from pipeline.alerts import unsubscribe as alerts_unsubscribe
        except ImportError:  # the package does not re-export it (yet)
            from pipeline.alerts.subscriptions import unsubscribe as alerts_unsubscribe

        settings = settings_factory()
        es = make_client(settings)
        try:
            subscription = alerts_unsubscribe(es, settings, chosen)
        except ValueError as error:
            LOGGER.info("unsubscribe refused: %s", error)
            return page("Unsubscribe failed", "This unsubscribe link is not valid.", status_code=400)
        except Exception:  # Elasticsearch down or failing: the reader may try again; ops see the log
            LOGGER.exception("unsubscribe could not be recorded")
            message = "Your unsubscribe could not be recorded just now; please try the link again later."
            return page("Unsubscribe failed", message, status_code=503)
        finally:
            es.close()
        name = getattr(subscription, "id", None) or getattr(subscription, "subscription_id", None) or ""
        LOGGER.info("unsubscribed %s via one-click link", name)
        return page("Unsubscribed", f"You will no longer receive the muniwatch alerts of {name}.".strip())

    return app


app = create_app()
