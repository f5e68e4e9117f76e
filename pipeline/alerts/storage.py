"""Small helpers shared by the alert modules: index set-up and date fields."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from elasticsearch import Elasticsearch

from pipeline.settings import Settings
from pipeline.store.indices import ensure_index, load_template

ALERT_INDICES = ("subscriptions", "deliveries")


def ensure_alert_indices(es: Elasticsearch, settings: Settings) -> None:
    """Create the subscriptions and deliveries indices; add fields a newer template defines.

    Adding a field to a ``dynamic: strict`` mapping is allowed in place, so an index created by an
    older template of the same version gains the new fields instead of rejecting documents.
    """
    for name in ALERT_INDICES:
        ensure_index(es, settings, name)
        properties = load_template(name)["template"]["mappings"]["properties"]
        es.indices.put_mapping(index=settings.index(name), properties=properties)


def stable_id(*parts: str) -> str:
    """SHA-256 over the parts, NUL-separated: ledger ``_id``s that never collide across kinds."""
    return hashlib.sha256("\0".join(parts).encode("utf-8")).hexdigest()


def iso(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime {moment!r}: pass timezone-aware UTC times")
    return moment.astimezone(UTC).isoformat()
