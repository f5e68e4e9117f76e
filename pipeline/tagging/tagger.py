"""Public entry point of the tagger: ``tag_item(TagInput) -> Tags``.

Deterministic, offline, CPU only: the gazetteer is loaded once (lazily, cached) and every regex is
compiled at import. Steps: analyse the text (headline, sentences, quotes, voice) → find and resolve
places → choose the main jurisdiction → relevance → stance and event (only when relevant).
Tagging is English-first: a non-English item is still tagged, with a note saying so.
"""

from __future__ import annotations

import logging

from pipeline.tagging.document import analyse
from pipeline.tagging.event import classify_event
from pipeline.tagging.gazetteer import load_gazetteer
from pipeline.tagging.jurisdiction import choose_jurisdiction
from pipeline.tagging.language import detect_language
from pipeline.tagging.places import find_places
from pipeline.tagging.relevance import assess_relevance
from pipeline.tagging.stance import classify_stance
from pipeline.tagging.types import Evidence, TagInput, Tags

LOGGER = logging.getLogger(__name__)

# Bump on any change of behaviour (lexicons, rules, gazetteer): a new version means a new index.
TAGGER_VERSION = "2026.11.2"
MAX_EVIDENCE_CHARS = 400


def _clip(span: str) -> str:
    span = " ".join(span.split())
    return span if len(span) <= MAX_EVIDENCE_CHARS else span[: MAX_EVIDENCE_CHARS - 1] + "…"


def tag_item(item: TagInput) -> Tags:
    """Tag one item: relevance, jurisdiction (+ others), stance with confidence, event, evidence."""
    gaz = load_gazetteer()
    notes: list[str] = []
    language = item.language or detect_language(f"{item.title}\n{item.text}")
    if language and language != "en":
        notes.append(f"language={language}: tagging is English-first; results may be incomplete")
    doc = analyse(title=item.title, text=item.text, url=item.url)
    finding = find_places(doc, gaz, item.home_state)
    choice = choose_jurisdiction(doc, finding, gaz.states_by_code)
    relevance = assess_relevance(doc, has_jurisdiction=choice.main is not None)
    tags = Tags(
        id=item.id,
        relevant=relevance.relevant,
        jurisdiction=choice.main,
        other_jurisdictions=choice.others,
        evidence=Evidence(jurisdiction=_clip(choice.evidence)),
        tagger_version=TAGGER_VERSION,
        language=language,
        notes=notes,
        reason=relevance.reason,
    )
    if not relevance.relevant:
        return tags
    event = classify_event(doc)
    stance = classify_stance(doc, event.direction, event.calls)
    tags.stance = stance.stance
    tags.stance_confidence = stance.confidence
    tags.event = event.event
    tags.evidence.stance = [_clip(s) for s in stance.evidence]
    tags.evidence.event = _clip(event.evidence)
    return tags
