"""What one poll of one source brought back, before the intake gate: the type every harvester
(feeds in ``polling``, X in ``x``) returns, kept apart so that neither imports the other."""

from __future__ import annotations

from dataclasses import dataclass, field

from pipeline.models import FeedEntry, Rejected


@dataclass(kw_only=True)
class Harvest:
    """Entries of one poll, the unusable ones with their reasons, and the source's new validators
    (ETag / Last-Modified for conditional GET, the X ``since_id`` cursor)."""

    entries: list[FeedEntry] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    not_modified: bool = False
    status: int | None = None
    etag: str | None = None
    last_modified: str | None = None
    cursor: str | None = None
    problem: str | None = None
