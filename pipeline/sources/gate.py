"""The intake gate: which polled entries become candidates for fetching (DESIGN, "Flow").

Recall comes first. A source that is already a keyword search (``SourceConfig.is_search``: a
Google News search feed, an X search, anything marked ``prefiltered: true``) hands over every
entry: the search engine matched the full text, though the entry itself is only a title and an
outlet. For outlet feeds an entry is a candidate when its title and summary match a watchlist
rule, or failing that the broad topic rules (``topic:`` in watchlists.yaml; see
``pipeline.config.DEFAULT_TOPIC``) match its title, its summary or the words of its link's path
(most newsrooms put the headline in the URL: ``/2025/06/county-ends-ice-jail-contract``, which
helps when the feed's title is vague). Only an entry that touches none of these is left
unfetched, and it is counted (``off_topic``). The watchlist rules decide later, on the full
extracted text.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import unquote, urlsplit

from pipeline.config import PipelineConfig, SourceConfig
from pipeline.models import FeedEntry
from pipeline.rules.language import RuleSet

# Why an entry became a candidate; stored on the item as ``gate``.
GateReason = Literal["search", "watchlist", "topic"]
TOPIC_LIST_ID = "topic"
_SEPARATORS = re.compile(r"[-_/.+]+")
_EXTENSION = re.compile(r"\.(?:s?html?|php|aspx?|jsp|cfm)$", re.IGNORECASE)


@dataclass(frozen=True, kw_only=True)
class Admission:
    """The gate's verdict on one entry: ``gate`` is None when it is not fetched."""

    gate: GateReason | None
    # "watchlist-id: rule" labels that matched title + summary (kept on the item, recall only).
    labels: list[str] = field(default_factory=list)


def link_words(url: str) -> str:
    """The words of a link's path: ``/news/county-ends-ice_contract.html`` → "news county ends
    ice contract" (no host, query or file extension)."""
    path = _EXTENSION.sub("", urlsplit(url).path)
    return " ".join(_SEPARATORS.split(unquote(path))).strip()


class IntakeGate:
    """Watchlist and topic rules compiled once per poll."""

    def __init__(self, watchlists: RuleSet, topic: Sequence[str]) -> None:
        self.watchlists = watchlists
        self.topic = RuleSet((TOPIC_LIST_ID, rule) for rule in topic)

    @classmethod
    def from_config(cls, config: PipelineConfig) -> IntakeGate:
        return cls(RuleSet.from_watchlists(config.watchlists), config.topic)

    def admit(self, source: SourceConfig, entry: FeedEntry) -> Admission:
        labels = self.watchlists.match(entry.title, entry.summary)
        if source.is_search:
            return Admission(gate="search", labels=labels)
        if labels:
            return Admission(gate="watchlist", labels=labels)
        if self.topic.match(entry.title, entry.summary, link_words(entry.url)):
            return Admission(gate="topic", labels=labels)
        return Admission(gate=None, labels=labels)
