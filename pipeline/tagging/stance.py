"""Stance of the item's own voice toward local cooperation with federal immigration enforcement.

Evidence counts by the voice it is said in (``text.Document.voice``): quoted speech and attributed
claims count (almost) nothing, the headline double, press releases speak through their own quotes.
Two kinds of evidence: framing phrases (``framing.ANTI_PHRASES`` / ``PRO_PHRASES``) and evaluative
words whose side depends on the sentence's target ("abuses" of a 287(g) program is anti, a
"dangerous" sanctuary policy is pro). Both sides present in strength, or a balanced structure
("supporters argue ... critics say"), gives neutral.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from pipeline.tagging.document import Document
from pipeline.tagging.framing import (
    ANTI_PHRASES,
    BALANCE_MARKERS,
    COOPERATION_TARGETS,
    LIMIT_TARGETS,
    NEGATIVE_WORDS,
    POSITIVE_WORDS,
    PRO_PHRASES,
)
from pipeline.tagging.lexicons import (
    PhraseMatcher,
    TextMatches,
    WordPattern,
    split_alternatives,
    words_pattern,
)
from pipeline.tagging.types import Stance

_ANTI = PhraseMatcher(ANTI_PHRASES)
_PRO = PhraseMatcher(PRO_PHRASES)
_NEG = words_pattern(NEGATIVE_WORDS)
_POS = words_pattern(POSITIVE_WORDS)
_COOP = WordPattern(COOPERATION_TARGETS)
_LIMIT = WordPattern("|".join(rf"\b{target}" for target in split_alternatives(LIMIT_TARGETS)))
_BALANCE = words_pattern(BALANCE_MARKERS)
# Read on the lower-cased text, and (``TARGET_LEXICONS``) on the text the evaluative words are read in.
LEXICONS = (_ANTI, _PRO, _BALANCE)
TARGET_LEXICONS = (_NEG, _POS, _COOP, _LIMIT)
_NEGATED_RE = re.compile(r"\b(?:not|no|never|isn't|wasn't|nor)\s+(?:\w+\s+)?$")

TARGET_WEIGHT = 0.75
EVENT_TARGET_WEIGHT = 0.5
MIN_TOTAL = 1.5
MIN_MARGIN = 1.0
BALANCE_RATIO = 0.5
BALANCED_RATIO = 0.3
BALANCED_MARGIN = 4.0
CALL_WEIGHT = 1.5
PRESS_RELEASE_QUOTE_VOICE = 0.6
MAX_EVIDENCE = 4


@dataclass(kw_only=True)
class StanceResult:
    stance: Stance
    confidence: float
    pro: float
    anti: float
    balanced: bool
    evidence: list[str] = field(default_factory=list)
    balance_markers: int = 0


def _add(bucket: dict[int, float], index: int, value: float) -> None:
    bucket[index] = bucket.get(index, 0.0) + value


def _lexicon_scores(doc: Document, found: TextMatches, matcher: PhraseMatcher) -> dict[int, float]:
    """Sentence index → weighted phrase score in the item's own voice."""
    out: dict[int, float] = {}
    for start, _end, weight in found.phrases(matcher):
        voice = doc.voice(start)
        if voice <= 0:
            continue
        if _NEGATED_RE.search(doc.lower[max(0, start - 20) : start]):
            continue
        _add(out, doc.sentence_index(start), weight * voice)
    return out


def _voice(doc: Document, index: int) -> float:
    """A sentence's voice for evaluative words (a press release speaks through its own quotes too)."""
    sentence = doc.sentences[index]
    return max(sentence.voice, PRESS_RELEASE_QUOTE_VOICE) if doc.press_release else sentence.voice


def _target_scores(
    doc: Document, targets: TextMatches, direction: str | None
) -> tuple[dict[int, float], dict[int, float]]:
    """Evaluative words aimed at cooperation (or at limiting it) in own-voice sentences.

    ``targets``: what ``TARGET_LEXICONS`` found in the masked text (a press release's whole text: it
    speaks through its own people's quotes too). A sentence naming neither side evaluates the
    reported decision itself when there is one (``direction``: "limit" for ending or limiting
    cooperation, "coop" for entering or expanding it).
    """
    pro: dict[int, float] = {}
    anti: dict[int, float] = {}
    negative, positive = targets.spans(_NEG), targets.spans(_POS)
    # Only a sentence with more of one kind of evaluative word than the other counts (and then
    # only in a voice of 0.5 or more): without one, the targets need not be looked for.
    balance: dict[int, int] = {}
    for found, sign in ((negative, 1), (positive, -1)):
        for start, _end in found:
            index = doc.sentence_index(start)
            balance[index] = balance.get(index, 0) + sign
    if not any(value and _voice(doc, index) >= 0.5 for index, value in balance.items()):
        return pro, anti
    per_sentence: dict[int, list[int]] = {}
    for slot, found in enumerate((targets.spans(_COOP), targets.spans(_LIMIT), negative, positive)):
        for start, _end in found:
            counts = per_sentence.setdefault(doc.sentence_index(start), [0, 0, 0, 0])
            counts[slot] += 1
    for index, (n_coop, n_limit, neg, pos) in per_sentence.items():
        voice = _voice(doc, index)
        if voice < 0.5 or neg == pos:
            continue
        coop, limit = n_coop > 0, n_limit > 0
        weight = TARGET_WEIGHT
        if coop and limit:
            continue
        if not coop and not limit:
            if direction is None:
                continue
            coop, weight = direction == "coop", EVENT_TARGET_WEIGHT
        value = weight * voice * min(2, abs(neg - pos))
        if (neg > pos) == coop:
            _add(anti, index, value)
        else:
            _add(pro, index, value)
    return pro, anti


def _confidence(margin: float, total: float, stance: Stance) -> float:
    if stance == "neutral":
        return round(0.55 + 0.35 * (1.0 - math.tanh(total / 6.0)) + 0.05 * (1 - math.tanh(abs(margin))), 2)
    return round(min(0.97, 0.5 + 0.45 * math.tanh(abs(margin) / 4.0)), 2)


def _evidence(doc: Document, *buckets: dict[int, float]) -> list[str]:
    merged: dict[int, float] = {}
    for bucket in buckets:
        for index, value in bucket.items():
            _add(merged, index, value)
    ranked = sorted(merged, key=lambda i: -merged[i])[:MAX_EVIDENCE]
    return [doc.sentences[i].text.strip() for i in sorted(ranked)]


def _call_scores(doc: Document, calls: list[tuple[int, str]]) -> tuple[dict[int, float], dict[int, float]]:
    """The item's own calls to act ("should end the 287(g) program", "urge ... to sign")."""
    pro: dict[int, float] = {}
    anti: dict[int, float] = {}
    for offset, direction in calls:
        voice = doc.voice(offset)
        if voice < 0.5:
            continue
        _add(anti if direction == "limit" else pro, doc.sentence_index(offset), CALL_WEIGHT * voice)
    return pro, anti


def classify_stance(
    doc: Document,
    found: TextMatches,
    targets: TextMatches,
    direction: str | None = None,
    calls: list[tuple[int, str]] | None = None,
) -> StanceResult:
    """Stance, calibrated confidence, side scores and the sentences that decided it.

    ``found``: what ``LEXICONS`` found in ``doc.lower``; ``targets``: see ``_target_scores``.
    ``direction`` is the reported decision's effect on cooperation ("limit" / "coop" / None);
    ``calls`` are (offset, direction) of calls to act found by the event step.
    """
    anti_lex = _lexicon_scores(doc, found, _ANTI)
    pro_lex = _lexicon_scores(doc, found, _PRO)
    pro_tgt, anti_tgt = _target_scores(doc, targets, direction)
    pro_call, anti_call = _call_scores(doc, calls or [])
    for bucket, extra in ((pro_tgt, pro_call), (anti_tgt, anti_call)):
        for index, value in extra.items():
            _add(bucket, index, value)
    anti = sum(anti_lex.values()) + sum(anti_tgt.values())
    pro = sum(pro_lex.values()) + sum(pro_tgt.values())
    total, margin = pro + anti, pro - anti
    balance_markers = found.count(_BALANCE)
    both_strong = min(pro, anti) >= MIN_TOTAL and min(pro, anti) / max(pro, anti) >= BALANCE_RATIO
    balanced = both_strong or balance_markers >= 2
    stance: Stance = "neutral"
    if total >= MIN_TOTAL and abs(margin) >= MIN_MARGIN and not both_strong:
        one_sided = min(pro, anti) / max(pro, anti) < BALANCED_RATIO
        if balance_markers < 2 or (abs(margin) >= BALANCED_MARGIN and one_sided):
            stance = "pro_cooperation" if margin > 0 else "anti_cooperation"
    if stance == "pro_cooperation":
        evidence = _evidence(doc, pro_lex, pro_tgt)
    elif stance == "anti_cooperation":
        evidence = _evidence(doc, anti_lex, anti_tgt)
    else:
        evidence = _evidence(doc, pro_lex, pro_tgt, anti_lex, anti_tgt)[:2]
    return StanceResult(
        stance=stance,
        confidence=_confidence(margin, total, stance),
        pro=round(pro, 2),
        anti=round(anti, 2),
        balanced=balanced,
        evidence=evidence,
        balance_markers=balance_markers,
    )
