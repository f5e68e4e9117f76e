"""Event type: what the reported decision does to local cooperation with immigration enforcement.

Each sentence that talks about immigration enforcement is matched against one pattern per event;
a match counts more in the headline (and the URL slug) and the lead, less inside quotes. Realised
actions (terminated, signed, renewed, changed policy) outweigh proposals; an action that is only
asked for ("should end", "urge ... to end", "calls on ... to end") counts as a proposal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from pipeline.tagging.document import Document
from pipeline.tagging.lexicons import Lexicons, TextMatches, WordPattern
from pipeline.tagging.types import Event

_OBJECT = WordPattern(
    r"\bice\b|287\s?\(?g\)?|immigra\w+|\bdhs\b|homeland security|detainers?|sanctuary|\bigsa\b"
    r"|intergovernmental service agreement|deport\w*"
)
_NEG = r"(?<!not )(?<!n't )(?<!not to )(?<!against )(?<!never )"
_PATTERNS: dict[Event, WordPattern] = {
    "terminate": WordPattern(
        r"\bterminat\w+|(?:won't|will not|would not|not to|declined to|decided not to|refus\w+ to) renew"
        r"|\b(?:end|ends|ended|ending)\s+(?:its |the |their |his |her |a |an |this |county's |city's )?"
        r"(?:[\w()'’]+ ){0,3}(?:contract|agreement|participation|partnership|program|relationship|cooperation"
        r"|collaborations?|ties|287\s?\(g\)|287g)|\bcut\w* ties|\bsever\w* (?:ties|its|the)"
        r"|\bbr(?:eak|oke)\w* ties|\bpull\w* (?:\w+ )?out of|\bwithdr[ae]w\w*|\bcancel\w+"
        r"|no longer (?:hold|house|cooperate|collaborate|honor|participate|accept|detain|work|notify|share"
        r"|transfer|rent|help|assist|respond|provide|allow)\w*"
        r"|\bstripped of|\babandon\w*|\brescind\w*"
        r"|\b(?:will|to) stop (?:allowing|letting|housing|renting|holding|sharing|notifying)"
        r"|\b(?:end|ends|ending|scrap|scraps|abolish|abolishes) (?:it|this|that)\b"
        r"|\b(?:left|leave|leaves|exit\w*|quit\w*|drop\w*) (?:the |its )?(?:287|program|agreement|contract)"
        r"|\bceas\w+ (?:cooperation|housing|to house|to hold)"
    ),
    "sign_or_join": WordPattern(
        r"\b" + _NEG + r"sign\w* (?:\w+ ){0,3}(?:agreements?|contracts?|memorand\w+|mou|287)|\bsigned onto"
        r"|\bjoin\w* (?:the |a )?(?:287|program|growing list|\w+ (?:agencies|counties))"
        r"|\benter\w* into (?:a |an |the )?(?:287|agreement with (?:ice|dhs|immigration))"
        r"|\breached (?:an )?agreement|"
        + r"\b"
        + _NEG
        + r"(?:approv\w+|authoriz\w+) (?:an |the |a )?(?:\w+['’]?s? ){0,4}"
        r"(?:agreement|contract|287)|\bagreement to (?:collaborate|cooperate|work with)"
        r"|\bagreed (?:\w+ ){0,2}to (?:collaborate|cooperate|partner|join|participate|rent|house|hold|lease)"
        r"|\b(?:rent|lease)\w* (?:\w+ ){0,3}beds to|\bnew (?:287\(g\) )?agreement with"
    ),
    "renew_or_expand": WordPattern(
        r"\b" + _NEG + r"(?<!won't )(?<!not to )renew\w*"
        r"|\bextend\w* (?:\w+['’]?s? ){0,4}(?:contract|agreement|287|partnership|program)"
        r"|\bextension (?:of|to) (?:\w+['’]?s? ){0,4}"
        r"(?:contract|agreement|287|partnership|program)"
        r"|\bexpan\w+ (?:its |the )?(?:287|program|cooperation|agreement|partnership|capacity|detention)"
    ),
    "vote_or_proposal": WordPattern(
        r"\bvot(?:e|es|ed|ing)\b|\bmotion\b|\bresolution\b|\bproposal\b|\bproposed\b|\bordinance\b"
        r"|\burg\w+ (?:\w+ ){0,4}(?:to end|an end|to stop|to sign|to join)"
        r"|\bcall\w* on .{0,40} to (?:end|stop|sign|join)"
        r"|\b(?:approv\w+|pass\w+|adopt\w+|introduc\w+) (?:a |an |the )?(?:\w+ )?(?:measure|ordinance|bill)\b"
        r"|\bpublic hearing|\bpetition\b|\bto decide whether|\bwill consider|\bsplit vote|\breferendum"
        r"|\bunder advisement"
    ),
    "policy_change": WordPattern(
        r"\b(?:change|changes|changed|changing|new|revised|revise|updated?|revers\w+|adopt\w+|implement\w*"
        r"|rescind\w*|formaliz\w+|return to) (?:its |the |a |their |her |his |this )?"
        r"(?:\w+ ){0,2}polic(?:y|ies)"
        r"|\bdirective\b|\bexecutive order|\b(?:signed|issued|signs|issues) an order"
        r"|\bbarring (?:\w+ ){0,3}(?:police|deputies|officers|employees|staff|agencies)"
        r"|\blimit\w* (?:\w+ )?cooperation|\border\w* (?:\w+ ){0,6}to (?:stop|not|cease|comply|cooperate)"
        r"|\bdetainer polic\w+|\brevert\w*|\bjudicial warrant|\bsettlement agreement"
        r"|\bwill (?:no longer|not) honor"
    ),
    "enforcement_action": WordPattern(
        r"\braid(?:s|ed)?\b|\barrested \d+|\bsweep\b|\broundup|\btook (?:\w+ )?into (?:ice )?custody"
        r"|\bhanded (?:\w+ )?over to ice|\bturned (?:\w+ )?over to ice"
    ),
}
# The lexicons read on the lower-cased text (and, in one pass, on the URL's words).
LEXICONS = (_OBJECT, *_PATTERNS.values())
_ON_URL = Lexicons(LEXICONS)
_MODAL_RE = re.compile(
    r"\b(?:should|urg\w+|asking|ask(?:s|ed)? (?:the|him|her|them|sheriff|county|city)|calls? on|called on"
    r"|calling on|demand\w*|must|petition\w*|would like|time to|promis\w+|pledg\w+|vow\w*|plans? to"
    r"|proposes|proposed|consider\w*|whether to|it is time|it's time)\b"
)
# Background, not the news: "In June 2016, former Sheriff X renewed ...".
_BACKGROUND_RE = re.compile(
    r"\b(?:in|since|until|by) (?:\w+ )?(?:19|20)\d\d\b|\blast year\b|\bpreviously\b|\bformer\b|\byears ago\b"
)
_FAILED_VOTE_RE = re.compile(
    r"\b(?:vote failed|failed to pass|voted against|rejected|split vote|deadlocked|tie vote|not to approve"
    r"|to not approve|blocks?|blocked)\b"
)
_CLAUSE_SPLIT_RE = re.compile(r"[;:]|, (?:and|but|while) |\. ")
MODAL_WINDOW = 70
MATCHES_PER_SENTENCE = 2
BACKGROUND_WEIGHT = 0.5
REALISED = frozenset({"terminate", "sign_or_join", "renew_or_expand", "policy_change"})
WEIGHT_HEADLINE = 3.0
WEIGHT_URL = 2.0
WEIGHT_LEAD = 1.5
WEIGHT_QUOTED = 0.5
REALISED_BONUS = 1.5
ENFORCEMENT_WEIGHT = 0.5
MIN_SCORE = 1.0


_LIMITING_RE = re.compile(
    r"\b(?:end|ends|ended|ending|terminat\w+|repeal\w*|remov\w+|withdr\w+|stop\w*|no longer|refus\w+"
    r"|sanctuary|not (?:to )?(?:cooperate|honor|approve|renew)|limit\w*|restrict\w*)\b"
)
_EXPANDING_RE = re.compile(r"\b(?:sign\w*|join\w*|approv\w+|renew\w*|expand\w*|extend\w*|cooperate fully)\b")


@dataclass(kw_only=True)
class EventResult:
    event: Event
    score: float
    evidence: str
    calls: list[tuple[int, str]] = field(default_factory=list)
    # Weighted evidence per event (the rule picks the largest; the model reads them all).
    scores: dict[Event, float] = field(default_factory=dict)

    @property
    def direction(self) -> str | None:
        """The decision's effect on cooperation: "limit", "coop" or None when unclear."""
        if self.event == "terminate":
            return "limit"
        if self.event in ("sign_or_join", "renew_or_expand"):
            return "coop"
        text = self.evidence.lower()
        if self.event in ("vote_or_proposal", "policy_change") and text:
            if _LIMITING_RE.search(text):
                return "limit"
            if _EXPANDING_RE.search(text):
                return "coop"
        return None


def _modal_before(text: str, start: int) -> bool:
    window = text[max(0, start - MODAL_WINDOW) : start]
    window = _CLAUSE_SPLIT_RE.split(window)[-1]
    return bool(_MODAL_RE.search(window))


def _object_flags(doc: Document, found: TextMatches) -> list[bool]:
    """Per sentence: does it (or the sentence before it in its paragraph) name the enforcement object?"""
    object_starts = [start for start, _ in found.spans(_OBJECT)]
    own = [False] * len(doc.sentences)
    for start in object_starts:
        own[doc.sentence_index(start)] = True
    flags = list(own)
    for index in range(1, len(own)):
        if own[index - 1] and doc.sentences[index - 1].paragraph == doc.sentences[index].paragraph:
            flags[index] = True
    return flags


def classify_event(doc: Document, found: TextMatches) -> EventResult:
    """The event with the most weighted evidence, and the sentence that carries it.

    ``found``: what ``LEXICONS`` found in ``doc.lower``."""
    scores: dict[Event, float] = {}
    best_span: dict[Event, tuple[float, str]] = {}
    calls: list[tuple[int, str]] = []
    lead = {index for index, s in enumerate(doc.sentences[:4]) if not s.is_headline}
    has_object = _object_flags(doc, found)
    matches: dict[int, dict[Event, list[int]]] = {}
    for event, pattern in _PATTERNS.items():
        for start, _end in found.spans(pattern):
            per_sentence = matches.setdefault(doc.sentence_index(start), {})
            per_sentence.setdefault(event, []).append(start)
    for index in sorted(matches):
        sentence = doc.sentences[index]
        if not sentence.is_headline and not has_object[index]:
            continue
        masked = doc.masked_lower[sentence.start : sentence.end]
        weight = WEIGHT_HEADLINE if sentence.is_headline else WEIGHT_LEAD if index in lead else 1.0
        if not sentence.is_headline and _BACKGROUND_RE.search(masked):
            weight *= BACKGROUND_WEIGHT
        sentence_scores: dict[Event, float] = {}
        for event, starts in matches[index].items():
            for start in starts[:MATCHES_PER_SENTENCE]:
                value = weight
                if doc.in_quote(start):
                    value *= WEIGHT_QUOTED
                target: Event = event
                if event in REALISED and _modal_before(masked, start - sentence.start):
                    target = "vote_or_proposal"
                    if event in ("terminate", "sign_or_join", "renew_or_expand"):
                        calls.append((start, "limit" if event == "terminate" else "coop"))
                elif event in REALISED:
                    value *= REALISED_BONUS
                if event == "enforcement_action":
                    value *= ENFORCEMENT_WEIGHT
                # Several matches of one event in a sentence add up (capped); a proposal counts once.
                previous = sentence_scores.get(target, 0.0)
                sentence_scores[target] = (
                    max(previous, value) if target == "vote_or_proposal" else previous + value
                )
        realised_here = any(t in REALISED for t in sentence_scores)
        if realised_here and not _FAILED_VOTE_RE.search(masked):
            # "voted to end the contract": the vote is how the termination happened, not a separate event.
            sentence_scores.pop("vote_or_proposal", None)
        for target, value in sentence_scores.items():
            scores[target] = scores.get(target, 0.0) + value
            if value > best_span.get(target, (0.0, ""))[0]:
                best_span[target] = (value, sentence.text.strip())
    if doc.url_words:
        slug = doc.url_words.lower()
        in_slug = _ON_URL.scan(slug)
        for event, pattern in _PATTERNS.items():
            match = in_slug.search(pattern)
            if match is not None and in_slug.search(_OBJECT) is not None:
                target = event
                if event in REALISED and _modal_before(slug, match):
                    target = "vote_or_proposal"
                bonus = WEIGHT_URL * (REALISED_BONUS if target in REALISED else 1.0)
                scores[target] = scores.get(target, 0.0) + bonus
    if not scores or max(scores.values()) < MIN_SCORE:
        return EventResult(event="other", score=0.0, evidence="", calls=calls, scores=scores)
    event = max(scores, key=lambda e: scores[e])
    return EventResult(
        event=event,
        score=round(scores[event], 2),
        evidence=best_span.get(event, (0.0, ""))[1],
        calls=calls,
        scores=scores,
    )
