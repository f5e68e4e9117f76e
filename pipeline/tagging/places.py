"""Find the US places, counties and states a text mentions and resolve each to one gazetteer entry.

Candidates come from capitalised word runs looked up in the gazetteer (longest first), "X County" /
"X Parish" / "A, B and C Counties", "County of X" and datelines. A bare one-word place needs support
(a state next to it, "City of X", "X City Council", a dateline, its state named elsewhere, or a large
population) and is dropped in person-name positions ("Sheriff Daron Hall", "said Taylor").
Resolution scores each candidate by an explicit state qualifier, the states the text talks about,
the source's home state and, last, population.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from dataclasses import dataclass

import ahocorasick

from pipeline.tagging.document import Document
from pipeline.tagging.gazetteer import STATE_DEMONYMS, Gazetteer, Place, norm
from pipeline.tagging.mentions import (
    Mention,
    TakenSpans,
    find_counties,
    find_datelines,
    find_runs,
    qualifier_after,
)
from pipeline.tagging.placewords import (
    CONNECTORS,
    FEATURE_AFTER,
    GOV_AFTER,
    LEADING_OK,
    NEEDS_CUE,
    PERSON_TITLES,
    STATE_GOV_AFTER,
)


@dataclass(kw_only=True)
class PlaceFinding:
    mentions: list[Mention]
    state_context: dict[str, float]


def _is_titlecase_line(doc: Document, offset: int, seen: dict[int, bool]) -> bool:
    """Whether the sentence at ``offset`` is a headline-style line ("Sheriff Ends ICE Deal");
    ``seen`` keeps the answer per sentence for the other mentions of the same item."""
    index = doc.sentence_index(offset)
    if index not in seen:
        words = [w for w in doc.sentences[index].text.split() if w[:1].isalpha()]
        seen[index] = len(words) >= 3 and sum(1 for w in words if w[0].isupper()) / len(words) >= 0.7
    return seen[index]


_GOV_OF_BEFORE_RE = re.compile(
    r"\b(?:city|town|village|township|borough|mayor|residents|suburb) of\s+(?:the\s+)?$"
)
_TOWN_OF_BEFORE_RE = re.compile(r"\btown(?:ship)? of\s+$")
_GOV_AFTER_RE = re.compile(
    r"(?:['’]s)?\s+(?:city council|city commission|town council|town board|village board|"
    r"board of (?:aldermen|selectmen|supervisors)|mayor|police|city hall|city manager|city attorney|"
    r"council|selectboard|select board|township)\b"
)
_TOWN_AFTER_RE = re.compile(r"(?:['’]s)?\s+town\b")
_SAID_AFTER_RE = re.compile(r"\s+(?:said|says|told|added|argued|wrote|noted|stated)\b")


def _support(
    doc: Document, m: Mention, surnames: set[str], ctx: dict[str, float], titlecase_lines: dict[int, bool]
) -> float:
    """How sure we are that a run match is the place (not a person, firm or common word)."""
    text = doc.text
    prev, nxt = m.prev_word, m.next_word

    def titlecase() -> bool:  # asked only when the words around the name leave it open
        return _is_titlecase_line(doc, m.start, titlecase_lines)

    key = norm(m.surface)
    if nxt in FEATURE_AFTER:
        return 0.0
    if m.kind == "state":
        if prev in PERSON_TITLES or (
            prev
            and prev not in LEADING_OK
            and not titlecase()
            and prev[:1].isalpha()
            and prev not in STATE_GOV_AFTER
        ):
            return 0.0 if norm(m.surface) == "washington" else 1.0
        return 1.0
    before = text[max(0, m.start - 40) : m.start].lower()
    after = text[m.end : m.end + 40].lower()
    strength = 0.0
    if m.qualifier:
        strength += 3.0
    if _GOV_OF_BEFORE_RE.search(before):
        strength += 3.0
        m.cues.add("gov")
        if _TOWN_OF_BEFORE_RE.search(before):
            m.cues.add("town")
    if _GOV_AFTER_RE.match(after):
        strength += 3.0
        m.cues.add("gov")
        if _TOWN_AFTER_RE.match(after):
            m.cues.add("town")
    if prev in PERSON_TITLES:
        return 0.0
    if prev and prev not in LEADING_OK and prev not in CONNECTORS and not titlecase() and "gov" not in m.cues:
        surnames.add(key)
        return 0.0
    followed_by_name = nxt and nxt not in GOV_AFTER and nxt not in LEADING_OK and not titlecase()
    if followed_by_name and not m.qualifier and (key in surnames or len(m.candidates[0].name.split()) == 1):
        return 0.0
    if key in surnames and strength < 3.0:
        return 0.0
    if _SAID_AFTER_RE.match(after) and strength < 3.0:
        return 0.0
    top = max(p.population for p in m.candidates)
    multiword = len(key.split()) > 1
    if multiword:
        strength += 1.5
    if top >= 100_000 and key not in NEEDS_CUE:
        strength += 1.5
    if any(ctx.get(p.state, 0.0) > 0 for p in m.candidates):
        strength += 1.0
    if key in NEEDS_CUE and strength < 3.0:
        return 0.0
    return strength


def _demonym_automaton() -> ahocorasick.Automaton:
    automaton = ahocorasick.Automaton()
    for demonym, state in STATE_DEMONYMS.items():
        automaton.add_word(demonym, state)
    automaton.make_automaton()
    return automaton


# Every demonym found in one pass ("west virginians" holds "virginians": both count, as before).
_DEMONYMS = _demonym_automaton()


def _demonym_context(lower: str) -> dict[str, float]:
    """States named through their residents ("Nebraskans", "New Jerseyans")."""
    ctx: dict[str, float] = {}
    for _end, state in _DEMONYMS.iter(lower):
        ctx[state] = ctx.get(state, 0.0) + 1.0
    return ctx


_REGIONS = (
    ("southern california", "CA"),
    ("northern california", "CA"),
    ("central valley", "CA"),
    ("bay area", "CA"),
    ("upstate new york", "NY"),
)


def _state_context(
    doc: Document, demonyms: dict[str, float], mentions: list[Mention], home_state: str | None
) -> dict[str, float]:
    ctx: dict[str, float] = defaultdict(float, demonyms)
    lower = doc.lower
    for m in mentions:
        if m.qualifier:
            ctx[m.qualifier] += 0.5
        if m.kind == "state" and m.strength > 0 and "qualifier" not in m.cues:
            ctx[m.candidates[0].state] += 1.0
    for region, state in _REGIONS:
        if region in lower:
            ctx[state] += 1.0
    if home_state:
        ctx[home_state.upper()] += 0.5
    return dict(ctx)


def _score(
    place: Place,
    m: Mention,
    ctx: dict[str, float],
    local: dict[str, float],
    home_state: str | None,
) -> float:
    score = 0.0
    if m.qualifier:
        score += 10.0 if place.state == m.qualifier else -10.0
    score += 3.0 * math.log1p(ctx.get(place.state, 0.0)) + local.get(place.state, 0.0)
    if home_state and place.state == home_state.upper():
        score += 1.0
    # Population is the last prior: Knox County is Tennessee's (Knoxville) unless the text says otherwise.
    return score + 1.2 * math.log10(place.population + 10)


@dataclass(kw_only=True)
class _StatesNamed:
    """The states named in each sentence and each paragraph (sentence and paragraph indexes)."""

    by_sentence: dict[int, set[str]]
    by_paragraph: dict[int, set[str]]


def _states_named(doc: Document, states: list[Mention]) -> _StatesNamed:
    named = _StatesNamed(by_sentence=defaultdict(set), by_paragraph=defaultdict(set))
    for s in states:
        index = doc.sentence_index(s.start)
        named.by_sentence[index].add(s.candidates[0].state)
        named.by_paragraph[doc.sentences[index].paragraph].add(s.candidates[0].state)
    return named


def _local_states(doc: Document, m: Mention, named: _StatesNamed) -> dict[str, float]:
    """States named in the same sentence (+2) or paragraph (+1) as the mention (looked up, not
    searched: a loop over every state mention per mention made long texts quadratic)."""
    index = doc.sentence_index(m.start)
    out = dict.fromkeys(named.by_paragraph.get(doc.sentences[index].paragraph, ()), 1.0)
    out.update(dict.fromkeys(named.by_sentence.get(index, ()), 2.0))
    return out


_SHERIFF_WORDS = frozenset({"sheriff", "sheriffs", "sheriff's"})
_STATE_HOST_RE = re.compile(r"^(?:www\.)?(?:aclu-?)?([a-z]{2})\.(?:com|org|gov|us)$")


def url_state_cues(url: str, gaz: Gazetteer) -> dict[str, float]:
    """States a source's web address names: "nj.com", "acluofnorthcarolina.org", "oregonlive.com".
    "washington" is left out: washingtonpost.com and the like are national outlets."""
    host = url.split("://", 1)[-1].split("/", 1)[0].lower()
    cues: dict[str, float] = {}
    code = _STATE_HOST_RE.match(host)
    if code and code.group(1).upper() in gaz.states_by_code:
        cues[code.group(1).upper()] = 1.0
    squeezed = host.replace("-", "")
    for name in sorted(gaz.states_by_name, key=len, reverse=True):
        joined = name.replace(" ", "")
        if joined != "washington" and joined in squeezed:
            cues[gaz.states_by_name[name].state] = 1.0
            squeezed = squeezed.replace(joined, "|")  # "westvirginia" is not also "virginia"
    return cues


def _sheriff_counties(gaz: Gazetteer, mentions: list[Mention]) -> None:
    """ "Sheboygan Sheriff", "Maricopa sheriff's deputies": the county's sheriff, not the town's."""
    for m in mentions:
        if m.kind == "place" and m.next_word in _SHERIFF_WORDS:
            counties = gaz.counties(f"{m.surface} County")
            if counties:
                m.kind, m.candidates, m.surface = "county", counties, f"{m.surface} County"
                m.strength = 3.0
                m.cues.add("gov")


def find_places(doc: Document, gaz: Gazetteer, home_state: str | None = None, url: str = "") -> PlaceFinding:
    """Every place, county and state mention with its resolved gazetteer entry (``resolved``).

    ``url`` is the item's address: its host may name a state ("nj.com")."""
    mentions: list[Mention] = []
    find_datelines(doc, gaz, mentions)
    taken = [(m.start, m.end) for m in mentions]
    find_counties(doc, gaz, mentions, taken)
    taken = [(m.start, m.end) for m in mentions]
    find_runs(doc, gaz, mentions, taken)
    _sheriff_counties(gaz, mentions)
    for m in mentions:
        if m.qualifier is None and "dateline" not in m.cues and m.kind != "state":
            m.qualifier, _ = qualifier_after(doc, m.end, gaz)
    qualifier_spans = []
    for m in mentions:
        if m.kind != "state" and m.qualifier:
            _, q_end = qualifier_after(doc, m.end, gaz)
            qualifier_spans.append((m.end, q_end))
    qualifiers = TakenSpans(qualifier_spans)
    for m in mentions:
        if m.kind == "state" and qualifiers.overlaps(m.start, m.end):
            m.cues.add("qualifier")
    demonyms = _demonym_context(doc.lower)
    pre_ctx = _state_context(doc, demonyms, [m for m in mentions if m.kind == "state" or m.qualifier], None)
    titlecase_lines: dict[int, bool] = {}
    for m in mentions:
        if m.kind == "state":
            m.strength = _support(doc, m, set(), pre_ctx, titlecase_lines)
    surnames: set[str] = set()
    for m in sorted(mentions, key=lambda x: x.start):
        if m.kind == "place" and "dateline" not in m.cues:
            m.strength = _support(doc, m, surnames, pre_ctx, titlecase_lines)
    kept = [
        m
        for m in mentions
        if "dateline" in m.cues
        or m.kind == "county"
        or (m.kind == "state" and m.strength > 0)
        or m.strength >= 1.5
    ]
    ctx = _state_context(doc, demonyms, kept, home_state)
    for state, weight in url_state_cues(url, gaz).items():
        ctx[state] = ctx.get(state, 0.0) + weight
    for m in kept:
        if len(m.candidates) == 1 and m.kind != "state":
            ctx[m.candidates[0].state] = ctx.get(m.candidates[0].state, 0.0) + 0.5
    states = _states_named(doc, [m for m in kept if m.kind == "state" and "qualifier" not in m.cues])
    # One sense per discourse: every mention of a name resolves to the place its mentions favour together.
    groups: dict[tuple[str, str], list[Mention]] = defaultdict(list)
    washington = [p for p in gaz.places("Washington") if p.state == "DC"]
    for m in kept:
        if m.kind == "state":
            m.resolved = m.candidates[0]
            if m.resolved.state == "DC" and washington:  # the District's government is the city's
                m.kind, m.candidates, m.resolved = "place", tuple(washington), washington[0]
        else:
            groups[(m.kind, norm(m.surface))].append(m)
    for group in groups.values():
        totals: dict[str, float] = defaultdict(float)
        by_key: dict[str, Place] = {}
        for m in group:
            local = _local_states(doc, m, states)
            for place in m.candidates:
                totals[place.key] += _score(place, m, ctx, local, home_state)
                by_key[place.key] = place
        best = by_key[max(totals, key=lambda k: totals[k])]
        for m in group:
            m.resolved = best if best in m.candidates else m.candidates[0]
    kept.sort(key=lambda x: x.start)
    return PlaceFinding(mentions=kept, state_context=ctx)
