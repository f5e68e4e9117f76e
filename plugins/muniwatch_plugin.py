"""The muniwatch Airflow plugin: the *muniwatch status* view (with one-click unsubscribe) and the
"Open in Kibana" link. The priority-feed trigger lives beside it in ``muniwatch_triggers``."""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin
from muniwatch_links import KibanaLink
from muniwatch_status import app


# The lists below are AirflowPlugin's own attributes (declared there as plain lists, not ClassVar),
# which Airflow reads and edits on the class: a ClassVar annotation would contradict the base class.
class MuniwatchPlugin(AirflowPlugin):
    name = "muniwatch"
    fastapi_apps = [  # noqa: RUF012
        {"app": app, "url_prefix": "/muniwatch", "name": "muniwatch status"}
    ]
    # A top-level entry in the UI's navigation that shows the status page inside Airflow.
    external_views = [  # noqa: RUF012
        {
            "name": "muniwatch status",
            "href": "/muniwatch/status",
            "url_route": "muniwatch-status",
            "destination": "nav",
            "category": "browse",
        }
    ]
    operator_extra_links = [KibanaLink()]  # noqa: RUF012
