"""The "Open in Kibana" button on the indexing task.

The worker computes the link when the task finishes (``BaseOperatorLink.get_link`` runs in the
task process in Airflow 3 and its value is kept as an XCom), from the task's own ``EnrichReport``
(its ``story_ids``): one story → that story in Kibana Discover, several → those stories, no story →
the items it indexed, nothing → the items indexed in the last day. The URL is built by
``pipeline.search.links``, the one place for e-mails and Airflow.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperatorLink

from pipeline.search import links
from pipeline.settings import Settings

if TYPE_CHECKING:  # the type only: every Airflow component loads plugins; none needs the extractor
    from pipeline.enrich import EnrichReport

LOGGER = logging.getLogger(__name__)

REPORT_ATTRIBUTE = "muniwatch_report"
SETTINGS_ATTRIBUTE = "muniwatch_settings"
# A Discover URL with hundreds of ids stops being useful (and fits no browser bar).
MAX_IDS_IN_LINK = 50


def kibana_link(settings: Settings, report: EnrichReport | None) -> str:
    """Where ops should look after an indexing run: its story, its stories or items, else the last day."""
    stories = report.story_ids if report else []
    if len(stories) == 1:
        return links.story_link(settings, stories[0])
    if stories:
        kql = " or ".join(f'story_id:"{story_id}"' for story_id in stories[:MAX_IDS_IN_LINK])
        return links.discover_url(settings, kql=kql)
    items = report.item_ids if report else []
    if items:
        return links.discover_url(settings, kql=" or ".join(f'_id:"{i}"' for i in items[:MAX_IDS_IN_LINK]))
    return links.discover_url(settings, kql="status:indexed", since="now-24h")


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
