"""The muniwatch Airflow plugin: the *muniwatch status* view (with one-click unsubscribe) and the
"Open in Kibana" link. The priority-feed trigger lives beside it in ``muniwatch_triggers``."""

from __future__ import annotations

from typing import Any, ClassVar

from airflow.plugins_manager import AirflowPlugin
from muniwatch_links import KibanaLink
from muniwatch_status import app


class MuniwatchPlugin(AirflowPlugin):
    name = "muniwatch"
    fastapi_apps: ClassVar[list[dict[str, Any]]] = [
        {"app": app, "url_prefix": "/muniwatch", "name": "muniwatch status"}
    ]
    # A top-level entry in the UI's navigation that shows the status page inside Airflow.
    external_views: ClassVar[list[dict[str, Any]]] = [
        {
            "name": "muniwatch status",
            "href": "/muniwatch/status",
            "url_route": "muniwatch-status",
            "destination": "nav",
            "category": "browse",
        }
    ]
    operator_extra_links: ClassVar[list[Any]] = [KibanaLink()]
