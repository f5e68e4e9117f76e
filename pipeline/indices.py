"""Versioned indices behind stable aliases, created from the templates in ``config/elasticsearch/``.

Each logical index ``name`` (items, stories, sources, subscriptions, deliveries, quarantine) has
an index template ``{prefix}-{name}`` matching ``{prefix}-{name}-v*`` and an alias ``{prefix}-{name}``
pointing at the current ``{prefix}-{name}-v{N}``. A new mapping or tagger version is a new index
plus an alias swap (see ``pipeline.reindex``). Everything here works on the core-only server.
"""

from __future__ import annotations

import json
import logging
from functools import cache
from pathlib import Path
from typing import Any

from elasticsearch import ApiError, Elasticsearch

from pipeline.settings import REPO_ROOT, Settings

LOGGER = logging.getLogger(__name__)

TEMPLATE_DIR = REPO_ROOT / "config" / "elasticsearch"
INDEX_NAMES = ("items", "stories", "sources", "subscriptions", "deliveries", "quarantine")


@cache
def load_template(name: str, template_dir: Path = TEMPLATE_DIR) -> dict[str, Any]:
    body: dict[str, Any] = json.loads((template_dir / f"{name}.json").read_text(encoding="utf-8"))
    return body


def template_version(name: str) -> int:
    return int(load_template(name)["version"])


def versioned_index(settings: Settings, name: str, version: int) -> str:
    return f"{settings.index(name)}-v{version}"


def put_template(es: Elasticsearch, settings: Settings, name: str) -> None:
    body = load_template(name)
    es.indices.put_index_template(
        name=settings.index(name),
        index_patterns=[f"{settings.index(name)}-v*"],
        template=body["template"],
        version=int(body["version"]),
        priority=100,
        meta={"managed_by": "muniwatch"},
    )


def current_index(es: Elasticsearch, settings: Settings, name: str) -> str | None:
    """The concrete index the alias points at, or None when the alias does not exist yet."""
    alias = settings.index(name)
    if not es.indices.exists_alias(name=alias):
        return None
    indices = sorted(es.indices.get_alias(name=alias).body)
    return indices[-1] if indices else None


def ensure_index(es: Elasticsearch, settings: Settings, name: str) -> str:
    """Create template, first index and alias if missing; return the concrete index. Idempotent."""
    put_template(es, settings, name)
    existing = current_index(es, settings, name)
    if existing:
        return existing
    index = versioned_index(settings, name, template_version(name))
    try:
        es.indices.create(index=index, aliases={settings.index(name): {"is_write_index": True}})
        LOGGER.info("created index %s behind alias %s", index, settings.index(name))
    except ApiError as error:
        # Another worker created it between our check and our create: that is the same outcome.
        if error.status_code != 400 or "resource_already_exists" not in str(error):
            raise
        if not es.indices.exists_alias(name=settings.index(name)):
            es.indices.put_alias(index=index, name=settings.index(name), is_write_index=True)
    return index


def ensure_indices(es: Elasticsearch, settings: Settings) -> dict[str, str]:
    """Every index the project uses, created idempotently at start-up."""
    return {name: ensure_index(es, settings, name) for name in INDEX_NAMES}


def delete_all(es: Elasticsearch, settings: Settings) -> None:
    """Remove every index and template under the prefix (tests and `make down --purge` only)."""
    for name in INDEX_NAMES:
        pattern = f"{settings.index(name)}-v*"
        for index in es.indices.get(index=pattern, allow_no_indices=True, expand_wildcards="all").body:
            es.indices.delete(index=index)
        try:
            es.indices.delete_index_template(name=settings.index(name))
        except ApiError as error:
            if error.status_code != 404:
                raise
