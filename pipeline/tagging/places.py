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
from functools import lru_cache
from itertools import accumulate

from pipeline.tagging import literals
from pipeline.tagging.gazetteer import STATE_DEMONYMS, Gazetteer, Place, norm
from pipeline.tagging.mentions import (
    Mention,
    find_counties,
    find_datelines,
    overlaps,
    qualifier_after,
    strip_token,
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
from pipeline.tagging.text import Document


@dataclass(kw_only=True)
class PlaceFinding:
    mentions: list[Mention]
    state_context: dict[str, float]


_CAP_WORD = r"[A-Z][A-Za-z'’\-]*(?:\.(?:[A-Za-z]\.)*)?"
_CAP_RUN_RE = re.compile(rf"{_CAP_WORD}(?: (?:(?:of|de|del|la|las|los|le|du|upon|on) )?{_CAP_WORD})*")
_CAP_RUN_SPLIT_RE = re.compile(f"({_CAP_RUN_RE.pattern})")


def _split_run(chunk: str, start: int) -> list[list[tuple[int, int, str]]]:
    """A ``_CAP_RUN_RE`` match's words (with "of", "de", "la" ... inside) as runs, split after a
    sentence-final period."""
    runs: list[list[tuple[int, int, str]]] = []
    current: list[tuple[int, int, str]] = []
    # A run's words are separated by single spaces (see _CAP_RUN_RE) and contain none.
    for token in chunk.split(" "):
        end = start + len(token)
        current.append((start, end, token))
        if token.endswith(".") and token.count(".") == 1 and norm(token) not in _RUN_KEEPS:
            runs.append(current)
            current = []
        start = end + 1
    if current:
        runs.append(current)
    return runs


_RUN_KEEPS = ("st.", "ft.", "mt.")


@lru_cache(maxsize=65536)
def _lookup_forms(token: str) -> tuple[str, str]:
    """A run token's lookup form as it is and with a possessive / final period stripped."""
    return norm(token), norm(strip_token(token))


def _is_titlecase_line(doc: Document, offset: int) -> bool:
    sentence = doc.sentence_at(offset)
    return _titlecase(sentence.text)


@lru_cache(maxsize=4096)
def _titlecase(text: str) -> bool:
    sentence_text = text
    words = [w for w in sentence_text.split() if w[:1].isalpha()]
    if len(words) < 3:
        return False
    caps = sum(1 for w in words if w[0].isupper())
    return caps / len(words) >= 0.7


# A gazetteer name found in a run: offsets relative to the run's start, kind, candidates, cues.
_RunHit = tuple[int, int, str, str, tuple[Place, ...], str, str]
_RUN_CACHE_LIMIT = 100_000


class _RunHits:
    """The names found in one ``_CAP_RUN_RE`` match depend on its text alone: each distinct match
    ("The", "Sheriff", "Nashville City Council" ...) is looked up once per process, not per item."""

    def __init__(self, gaz: Gazetteer) -> None:
        self.gaz = gaz
        self.cache: dict[str, tuple[_RunHit, ...]] = {}

    def __call__(self, chunk: str) -> tuple[_RunHit, ...]:
        hits = self.cache.get(chunk)
        if hits is None:
            if len(self.cache) >= _RUN_CACHE_LIMIT:
                self.cache.clear()
            hits = self.cache[chunk] = tuple(
                hit for run in _split_run(chunk, 0) for hit in _run_hits(run, self.gaz)
            )
        return hits


_RUN_HITS: list[_RunHits] = []


def _run_hits_of(gaz: Gazetteer) -> _RunHits:
    if not _RUN_HITS or _RUN_HITS[0].gaz is not gaz:
        _RUN_HITS[:] = [_RunHits(gaz)]
    return _RUN_HITS[0]


def _run_hits(run: list[tuple[int, int, str]], gaz: Gazetteer) -> list[_RunHit]:
    forms = [_lookup_forms(w) for _, _, w in run]
    plain = [form[0] for form in forms]
    stripped = [form[1] for form in forms]
    hits: list[_RunHit] = []
    i = 0
    while i < len(run):
        longest = gaz.first_words.get(stripped[i] if i == len(run) - 1 else plain[i], 0)
        if not longest and i < len(run) - 1:
            longest = 1 if stripped[i] in gaz.first_words else 0
        if plain[i] in CONNECTORS or not longest:
            i += 1
            continue
        hit: tuple[int, str, tuple[Place, ...]] | None = None
        for size in range(min(longest, len(run) - i), 0, -1):
            key = " ".join([*plain[i : i + size - 1], stripped[i + size - 1]])
            if key in gaz.states_by_name:
                hit = (size, "state", (gaz.states_by_name[key],))
                break
            found = gaz.places_by_name.get(key)
            if found:
                hit = (size, "place", found)
                break
        if hit is None:
            i += 1
            continue
        if hit[1] == "place" and hit[0] > 1 and stripped[i + hit[0] - 1] == "city":
            # "Boulder City Council" is Boulder's council unless "X City" is the bigger place.
            shorter = gaz.places_by_name.get(" ".join(plain[i : i + hit[0] - 1]))
            following = stripped[i + hit[0]] if i + hit[0] < len(run) else ""
            if shorter and following in GOV_AFTER and shorter[0].population > hit[2][0].population:
                hit = (hit[0] - 1, "place", shorter)
        size, kind, candidates = hit
        # The run's words are joined by single spaces: its text from word i to word i + size - 1.
        surface = strip_token(" ".join(w for _, _, w in run[i : i + size]))
        start = run[i][0]
        hits.append(
            (
                start,
                start + len(surface),
                surface,
                kind,
                candidates,
                f"prev:{stripped[i - 1]}" if i > 0 else "prev:",
                f"next:{stripped[i + size]}" if i + size < len(run) else "next:",
            )
        )
        i += size
    return hits


def _find_runs(doc: Document, gaz: Gazetteer, mentions: list[Mention], taken: list[tuple[int, int]]) -> None:
    run_hits = _run_hits_of(gaz)
    # The text cut into [between, run, between, run, ..., between]: runs at odd indices, each run's
    # offset the length of everything before it. Most runs name nothing ("The", "Sheriff").
    parts = _CAP_RUN_SPLIT_RE.split(doc.text)
    runs = parts[1::2]
    found = list(map(run_hits.cache.get, runs))
    offsets = list(accumulate(map(len, parts)))
    for index in [i for i, hits in enumerate(found) if hits != ()]:
        hits = found[index]
        if hits is None:
            hits = run_hits(runs[index])
            if not hits:
                continue
        base = offsets[2 * index]
        for rel_start, rel_end, surface, kind, candidates, prev, nxt in hits:
            start, end = base + rel_start, base + rel_end
            if not overlaps(taken, start, end):
                mention = Mention(
                    start=start,
                    end=end,
                    surface=surface,
                    kind=kind,
                    candidates=candidates,
                    cues={prev, nxt},
                    prev_word=prev[5:],
                    next_word=nxt[5:],
                )
                mentions.append(mention)


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


def _support(doc: Document, m: Mention, surnames: set[str], ctx: dict[str, float]) -> float:
    """How sure we are that a run match is the place (not a person, firm or common word)."""
    text = doc.text
    prev, nxt = m.prev_word, m.next_word
    titlecase = _is_titlecase_line(doc, m.start)
    key = norm(m.surface)
    if nxt in FEATURE_AFTER:
        return 0.0
    if m.kind == "state":
        if prev in PERSON_TITLES or (
            prev
            and prev not in LEADING_OK
            and not titlecase
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
    # "of" is in every match of _GOV_OF_BEFORE_RE: a substring test skips most regex scans.
    if "of" in before and _GOV_OF_BEFORE_RE.search(before):
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
    if prev and prev not in LEADING_OK and prev not in CONNECTORS and not titlecase and "gov" not in m.cues:
        surnames.add(key)
        return 0.0
    followed_by_name = nxt and nxt not in GOV_AFTER and nxt not in LEADING_OK and not titlecase
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


_DEMONYM_HINT_RE = re.compile(r"(?:ans|ers|ites|ns|ers)\b")
literals.register(STATE_DEMONYMS)


def _demonym_context(lower: str) -> dict[str, float]:
    """States named through their residents ("Nebraskans", "New Jerseyans")."""
    ctx: dict[str, float] = {}
    found = literals.present(lower)
    if found.isdisjoint(STATE_DEMONYMS) or not _DEMONYM_HINT_RE.search(lower):
        return ctx
    for demonym, state in STATE_DEMONYMS.items():
        if demonym in found:
            ctx[state] = ctx.get(state, 0.0) + lower.count(demonym)
    return ctx


_REGIONS = (
    ("southern california", "CA"),
    ("northern california", "CA"),
    ("central valley", "CA"),
    ("bay area", "CA"),
    ("upstate new york", "NY"),
)
literals.register(region for region, _state in _REGIONS)


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
    found = literals.present(lower)
    for region, state in _REGIONS:
        if region in found:
            ctx[state] += 1.0
    if home_state:
        ctx[home_state.upper()] += 0.5
    return dict(ctx)


def _score(
    place: Place,
    m: Mention,
    ctx: dict[str, float],
    local: dict[str, float],
    gaz: Gazetteer,
    home_state: str | None,
) -> float:
    score = 0.0
    if m.qualifier:
        score += 10.0 if place.state == m.qualifier else -10.0
    score += 3.0 * math.log1p(ctx.get(place.state, 0.0)) + local.get(place.state, 0.0)
    if home_state and place.state == home_state.upper():
        score += 1.0
    if place.kind == "place":
        return score + 1.2 * math.log10(place.population + 10)
    return score + 0.6 * math.log10(gaz.state_population.get(place.state, 0) + 10)


def _local_states(doc: Document, m: Mention, states: list[Mention]) -> dict[str, float]:
    """States named in the same sentence (+2) or paragraph (+1) as the mention."""
    sentence = doc.sentence_at(m.start)
    out: dict[str, float] = {}
    for s in states:
        code = s.candidates[0].state
        other = doc.sentence_at(s.start)
        if other is sentence:
            out[code] = max(out.get(code, 0.0), 2.0)
        elif other.paragraph == sentence.paragraph:
            out[code] = max(out.get(code, 0.0), 1.0)
    return out


def find_places(doc: Document, gaz: Gazetteer, home_state: str | None = None) -> PlaceFinding:
    """Every place, county and state mention with its resolved gazetteer entry (``resolved``)."""
    mentions: list[Mention] = []
    find_datelines(doc, gaz, mentions)
    taken = [(m.start, m.end) for m in mentions]
    find_counties(doc, gaz, mentions, taken)
    taken = [(m.start, m.end) for m in mentions]
    _find_runs(doc, gaz, mentions, taken)
    for m in mentions:
        if m.qualifier is None and "dateline" not in m.cues and m.kind != "state":
            m.qualifier, _ = qualifier_after(doc, m.end, gaz)
    qualifier_spans = []
    for m in mentions:
        if m.kind != "state" and m.qualifier:
            _, q_end = qualifier_after(doc, m.end, gaz)
            qualifier_spans.append((m.end, q_end))
    for m in mentions:
        if m.kind == "state" and overlaps(qualifier_spans, m.start, m.end):
            m.cues.add("qualifier")
    demonyms = _demonym_context(doc.lower)
    pre_ctx = _state_context(doc, demonyms, [m for m in mentions if m.kind == "state" or m.qualifier], None)
    for m in mentions:
        if m.kind == "state":
            m.strength = _support(doc, m, set(), pre_ctx)
    surnames: set[str] = set()
    for m in sorted(mentions, key=lambda x: x.start):
        if m.kind == "place" and "dateline" not in m.cues:
            m.strength = _support(doc, m, surnames, pre_ctx)
    kept = [
        m
        for m in mentions
        if "dateline" in m.cues
        or m.kind == "county"
        or (m.kind == "state" and m.strength > 0)
        or m.strength >= 1.5
    ]
    ctx = _state_context(doc, demonyms, kept, home_state)
    for m in kept:
        if len(m.candidates) == 1 and m.kind != "state":
            ctx[m.candidates[0].state] = ctx.get(m.candidates[0].state, 0.0) + 0.5
    states = [m for m in kept if m.kind == "state" and "qualifier" not in m.cues]
    # One sense per discourse: every mention of a name resolves to the place its mentions favour together.
    groups: dict[tuple[str, str], list[Mention]] = defaultdict(list)
    for m in kept:
        if m.kind == "state":
            m.resolved = m.candidates[0]
        else:
            groups[(m.kind, norm(m.surface))].append(m)
    for group in groups.values():
        totals: dict[str, float] = defaultdict(float)
        by_key: dict[str, Place] = {}
        for m in group:
            local = _local_states(doc, m, states)
            for place in m.candidates:
                totals[place.key] += _score(place, m, ctx, local, gaz, home_state)
                by_key[place.key] = place
        best = by_key[max(totals, key=lambda k: totals[k])]
        for m in group:
            m.resolved = best if best in m.candidates else m.candidates[0]
    kept.sort(key=lambda x: x.start)
    return PlaceFinding(mentions=kept, state_context=ctx)
