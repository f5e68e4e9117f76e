"""The "Open in Kibana" button on the indexing task.

The worker computes the link when the task finishes (``BaseOperatorLink.get_link`` runs in the
task process in Airflow 3 and its value is kept as an XCom), from the task's own report: one
story → that story in Kibana, several → the items indexed in this run. The URL itself is built
by ``pipeline.links`` (one place for e-mails and Airflow) when it is there, else by
:func:`fallback_link` from ``settings.kibana_url``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from airflow.sdk import BaseOperatorLink

from pipeline.settings import Settings

LOGGER = logging.getLogger(__name__)

REPORT_ATTRIBUTE = "muniwatch_report"
SETTINGS_ATTRIBUTE = "muniwatch_settings"


def fallback_link(settings: Settings, kuery: str) -> str:
    """Kibana Discover on the items alias with a KQL query (until ``pipeline.links`` lands)."""
    app_state = (
        f"(dataSource:(dataViewId:'{settings.index('items')}',type:dataView),"
        f"query:(language:kuery,query:'{kuery.replace(chr(39), '!' + chr(39))}'))"
    )
    global_state = "(time:(from:now-7d,to:now))"
    return (
        f"{settings.kibana_url}/app/discover#/?_g={quote(global_state, safe='():,!*')}"
        f"&_a={quote(app_state, safe='():,!*')}"
    )


def _story_ids(report: Mapping[str, Any]) -> list[str]:
    for key in ("story_ids", "stories"):
        value = report.get(key)
        if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
            return list(value)
    return []


def kibana_link(settings: Settings, report: Mapping[str, Any] | None) -> str:
    """Where ops should look after an indexing run."""
    stories = _story_ids(report or {})
    try:
        from pipeline import links  # the search engineer's module, once it exists

        if len(stories) == 1:
            return str(links.story_link(settings, stories[0]))
        if stories:
            return str(links.query_link(settings, {"story_ids": stories}))
        return str(links.query_link(settings, {"status": "indexed"}))
    except (ImportError, AttributeError, TypeError, ValueError) as error:
        LOGGER.debug("pipeline.links not usable (%s): building the Kibana link here", error)
    if len(stories) == 1:
        return fallback_link(settings, f'story_id:"{stories[0]}"')
    if stories:
        return fallback_link(settings, " or ".join(f'story_id:"{s}"' for s in stories[:50]))
    return fallback_link(settings, "status:indexed")


class KibanaLink(BaseOperatorLink):
    """Button "Open in Kibana" on ``muniwatch_enrich.enrich_and_index``."""

    name = "Open in Kibana"

    def get_link(self, operator: Any, *, ti_key: Any) -> str:
        # Runs in the worker right after the task: the task left its settings and report on the
        # operator. Elsewhere there is nothing to build from, and Airflow reads the stored value.
        settings = getattr(operator, SETTINGS_ATTRIBUTE, None)
        if settings is None:
            return ""
        return kibana_link(settings, getattr(operator, REPORT_ATTRIBUTE, None))
