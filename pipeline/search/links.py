"""Links into Kibana Discover, built in one place for e-mails, the CLI and Airflow.

Every link opens the items data view shipped in ``pipeline/search/saved_objects/`` (id
``{prefix}-items``) with a query: one story, one item, or any KQL query and filters (the link for a
whole search, :func:`pipeline.search.query.query_link`, builds on :func:`discover_url`). App state
is encoded in Rison, the notation Kibana's URLs use.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import quote

from pipeline.settings import DEFAULT_INDEX_PREFIX, Settings

# Kibana reads these unescaped; escaping everything else keeps the URL valid in e-mails.
_URL_SAFE = "()',:!*-._~/@$"
_RISON_ID = re.compile(r"^[A-Za-z_./~][A-Za-z0-9_./~\-]*$")
DEFAULT_SPAN = "now-1y"


def data_view_id(settings: Settings, name: str = "items") -> str:
    """The id of a shipped data view (``{prefix}-items``, ``{prefix}-stories``)."""
    return settings.index(name)


def rison(value: Any) -> str:
    """Encode a JSON-like value as Rison (https://github.com/Nanonid/rison)."""
    if value is None:
        return "!n"
    if value is True:
        return "!t"
    if value is False:
        return "!f"
    if isinstance(value, int | float):
        return repr(value) if isinstance(value, float) else str(value)
    if isinstance(value, datetime):
        return rison(value.isoformat())
    if isinstance(value, str):
        if _RISON_ID.match(value) and value not in ("true", "false", "null"):
            return value
        return "'" + value.replace("!", "!!").replace("'", "!'") + "'"
    if isinstance(value, Mapping):
        return "(" + ",".join(f"{rison(str(k))}:{rison(v)}" for k, v in value.items()) + ")"
    if isinstance(value, Sequence):
        return "!(" + ",".join(rison(v) for v in value) + ")"
    raise TypeError(f"cannot encode {type(value).__name__} in Rison")


def _kql_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def discover_url(
    settings: Settings,
    *,
    kql: str = "",
    filters: Sequence[Mapping[str, Any]] = (),
    since: datetime | str = DEFAULT_SPAN,
    until: datetime | str = "now",
    data_view: str = "items",
) -> str:
    """A Discover URL on a shipped data view with a KQL query, filters and a time range."""
    view = data_view_id(settings, data_view)
    time = {
        "from": since.isoformat() if isinstance(since, datetime) else since,
        "to": until.isoformat() if isinstance(until, datetime) else until,
    }
    app = {
        "dataSource": {"dataViewId": view, "type": "dataView"},
        "filters": list(filters),
        "query": {"language": "kuery", "query": kql},
        "sort": [["published_at", "desc"]] if data_view == "items" else [],
    }
    global_state = {"filters": [], "time": time}
    return (
        f"{settings.kibana_url}/app/discover#/?_g={quote(rison(global_state), safe=_URL_SAFE)}"
        f"&_a={quote(rison(app), safe=_URL_SAFE)}"
    )


def story_link(settings: Settings, story_id: str, *, since: datetime | str = DEFAULT_SPAN) -> str:
    """Discover showing every item of one story (pass the story's first_seen as ``since`` if known)."""
    return discover_url(settings, kql=f"story_id:{_kql_string(story_id)}", since=since)


def item_link(settings: Settings, item_id: str, *, since: datetime | str = DEFAULT_SPAN) -> str:
    """Discover showing one item (by its ``_id``)."""
    return discover_url(settings, kql=f"_id:{_kql_string(item_id)}", since=since)


def search_command_for(index_prefix: str, query: str = '"ICE contract" OR 287(g)') -> str:
    """The exact ``muniwatch search`` command that reads ``index_prefix`` (printed by ``make demo``
    and ``make up``, whose data sits under their own prefixes, not the default one)."""
    env = "" if index_prefix == DEFAULT_INDEX_PREFIX else f"MUNIWATCH_INDEX_PREFIX={index_prefix} "
    return f"{env}.venv/bin/muniwatch search {shlex.quote(query)}"
