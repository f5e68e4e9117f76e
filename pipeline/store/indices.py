"""Versioned indices behind stable aliases, created from the index templates
shipped in the package (``pipeline/store/templates/*.json``), so an installed package needs no checkout.

Each logical index ``name`` (items, stories, sources, subscriptions, deliveries, quarantine) has
an index template ``{prefix}-{name}`` matching ``{prefix}-{name}-v*`` and an alias ``{prefix}-{name}``
pointing at the current ``{prefix}-{name}-v{N}``. A new mapping or tagger version is a new index
plus an alias swap (see ``pipeline.store.reindex``). Everything here works on the core-only server.
"""

from __future__ import annotations

import json
import logging
from functools import cache
from pathlib import Path
from typing import Any

from elasticsearch import ApiError, Elasticsearch

from pipeline.settings import Settings

LOGGER = logging.getLogger(__name__)

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"
INDEX_NAMES = ("items", "stories", "sources", "subscriptions", "deliveries", "quarantine", "records")
# (es_url, concrete index, mapping) already brought up to date in this process.
_MAPPING_APPLIED: set[tuple[str, str, str]] = set()
_TEMPLATES_PUT: set[tuple[str, str, str]] = set()


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


def index_version(index: str) -> int:
    """``muniwatch-items-v12`` → 12 (0 when the name carries no version)."""
    head, _, tail = index.rpartition("-v")
    return int(tail) if head and tail.isdigit() else 0


def alias_indices(es: Elasticsearch, settings: Settings, name: str) -> dict[str, bool]:
    """Concrete indices behind the alias → whether each is the write index (empty: no alias)."""
    alias = settings.index(name)
    if not es.indices.exists_alias(name=alias):
        return {}
    found: dict[str, bool] = {}
    for index, body in es.indices.get_alias(name=alias).body.items():
        options = body.get("aliases", {}).get(alias, {})
        found[index] = bool(options.get("is_write_index", False))
    return found


def current_index(es: Elasticsearch, settings: Settings, name: str) -> str | None:
    """The concrete index the alias writes to (newest version), or None when there is no alias yet."""
    indices = alias_indices(es, settings, name)
    if not indices:
        return None
    writers = [index for index, is_writer in indices.items() if is_writer] or list(indices)
    return max(writers, key=lambda index: (index_version(index), index))


def apply_additive_mapping(es: Elasticsearch, settings: Settings, name: str, index: str) -> bool:
    """Put the template's mapping on a live index: new fields appear, nothing else changes.

    Returns False (and says what to do) when the template changed a field incompatibly;
    that needs a new index version and ``muniwatch reindex``.
    """
    key = (settings.es_url, index, json.dumps(load_template(name)["template"]["mappings"], sort_keys=True))
    if key in _MAPPING_APPLIED:
        return True
    mappings = load_template(name)["template"]["mappings"]
    try:
        es.indices.put_mapping(index=index, properties=mappings.get("properties", {}))
    except ApiError as error:
        if error.status_code != 400:
            raise
        LOGGER.warning(
            "index %s: pipeline/store/templates/%s.json changes an existing field (%s); bump its version "
            "and run `muniwatch reindex` to move the data to a new index",
            index,
            name,
            error.message,
        )
        return False
    _MAPPING_APPLIED.add(key)
    return True


def ensure_index(es: Elasticsearch, settings: Settings, name: str) -> str:
    """Create template, first index and alias if missing; return the concrete index. Idempotent."""
    existing = current_index(es, settings, name)
    if existing:
        # Putting a template is a cluster-state update (~0.1 s): once per process and template
        # content is enough while the index exists; a missing index always gets a fresh put.
        key = (settings.es_url, settings.index(name), json.dumps(load_template(name), sort_keys=True))
        if key not in _TEMPLATES_PUT:
            put_template(es, settings, name)
            # Another process may have created it a moment ago: its shards may not be searchable yet.
            _wait_until_searchable(es, existing)
            _TEMPLATES_PUT.add(key)
        apply_additive_mapping(es, settings, name, existing)
        return existing
    put_template(es, settings, name)
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
    _wait_until_searchable(es, index)
    return index


# How long a caller waits for a new index's primary shards (a loaded node takes a second or two).
SHARDS_WAIT = "30s"


def _wait_until_searchable(es: Elasticsearch, index: str) -> None:
    """Wait until ``index``'s primary shards are started (yellow): a search or write that arrives
    while they start fails with 503 "all shards failed". Gives up after ``SHARDS_WAIT`` and lets the
    request itself say what is wrong."""
    health = es.options(ignore_status=408).cluster.health(
        index=index, wait_for_status="yellow", timeout=SHARDS_WAIT
    )
    if health.get("timed_out"):
        LOGGER.warning("index %s: primary shards not started after %s", index, SHARDS_WAIT)


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
