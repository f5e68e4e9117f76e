"""Boundary types of the tagger: what goes in (``TagInput``) and what comes out (``Tags``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pipeline.models import EVENTS, STANCES, Event, JurisdictionType, Stance

__all__ = ["EVENTS", "STANCES", "Event", "JurisdictionType", "Stance"]


@dataclass(kw_only=True)
class TagInput:
    """One item to tag. ``home_state`` (USPS code) is the source's optional hint."""

    id: str
    title: str = ""
    text: str
    url: str = ""
    home_state: str | None = None
    language: str | None = None


@dataclass(kw_only=True)
class Jurisdiction:
    """A resolved US government: city, town, county (parish, borough) or state."""

    name: str
    type: JurisdictionType
    state: str
    key: str
    lat: float
    lon: float

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "state": self.state,
            "lat": self.lat,
            "lon": self.lon,
            "key": self.key,
        }

    def to_short_dict(self) -> dict[str, Any]:
        return {"name": self.name, "type": self.type, "state": self.state}


@dataclass(kw_only=True)
class Evidence:
    """The spans that decided each tag (empty when the tag is null)."""

    jurisdiction: str = ""
    stance: list[str] = field(default_factory=list)
    event: str = ""

    def to_json_dict(self) -> dict[str, Any]:
        return {"jurisdiction": self.jurisdiction, "stance": list(self.stance), "event": self.event}


@dataclass(kw_only=True)
class Tags:
    """Tag output per DESIGN.md ("Tag output"), plus the tagger version that produced it."""

    id: str
    relevant: bool
    jurisdiction: Jurisdiction | None = None
    other_jurisdictions: list[Jurisdiction] = field(default_factory=list)
    stance: Stance | None = None
    stance_confidence: float | None = None
    event: Event | None = None
    evidence: Evidence = field(default_factory=Evidence)
    tagger_version: str = ""
    language: str | None = None
    notes: list[str] = field(default_factory=list)
    reason: str = ""

    def to_json_dict(self) -> dict[str, Any]:
        """The DESIGN JSON shape; ``language`` and ``notes`` are added only for non-English items."""
        out: dict[str, Any] = {
            "id": self.id,
            "relevant": self.relevant,
            "jurisdiction": self.jurisdiction.to_json_dict() if self.jurisdiction else None,
            "other_jurisdictions": [j.to_short_dict() for j in self.other_jurisdictions],
            "stance": self.stance,
            "stance_confidence": self.stance_confidence,
            "event": self.event,
            "evidence": self.evidence.to_json_dict(),
            "tagger_version": self.tagger_version,
        }
        if self.notes:
            out["language"] = self.language
            out["notes"] = list(self.notes)
        return out
