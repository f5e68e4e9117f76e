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
from dataclasses import dataclass, field
from functools import lru_cache

from pipeline.tagging.gazetteer import (
    AP_STATE_ABBREVIATIONS,
    STATE_DEMONYMS,
    Gazetteer,
    Place,
    norm,
)
from pipeline.tagging.text import Document

_TOKEN_RE = re.compile(r"[A-Za-z][A-Za-z'’\-]*(?:\.(?:[A-Za-z]\.)*)?")
_COUNTY_SUFFIX_RE = re.compile(
    r"\b(?:County|COUNTY|Parish|PARISH|Borough|BOROUGH|Counties|COUNTIES|Parishes)\b"
)
_COUNTY_OF_RE = re.compile(r"\b[Cc]ounty of ((?:[A-Z][A-Za-z'’.\-]*)(?: [A-Z][A-Za-z'’.\-]*){0,3})")
_DATELINE_RE = re.compile(
    r"^\(?(?:[^\n:]{0,60}:\s+)?(?:[A-Z][a-z]{2,8}\.? \d{1,2}, \d{4},\s*)?"
    r"(?P<place>[A-Z][A-Za-z.'’\- ]{1,40}?)(?:,\s*(?P<state>[A-Z][A-Za-z. ]{1,20}?))?\)?\s*"
    r"(?:\([^)\n]{1,40}\)\s*)?(?:[—–]|--| - )"
)
_QUALIFIER_RE = re.compile(r",?\s*\(?((?:[A-Z][A-Za-z]*\.?(?:[A-Za-z]\.)*)(?:\s+[A-Z][A-Za-z]*\.?){0,2})")

CONNECTORS = frozenset({"of", "de", "del", "la", "las", "los", "le", "du", "upon", "on"})
PERSON_TITLES = frozenset(
    "sheriff mayor gov gov. governor sen sen. senator rep rep. representative judge chief commissioner"
    " president secretary director mr mr. ms ms. mrs mrs. dr dr. officer deputy attorney councilman"
    " councilwoman councilmember supervisor executive sgt sgt. lt lt. capt capt. detective pastor rev rev."
    " coach agent spokesman spokeswoman trustee member manager chair chairman chairwoman".split()
)
# Capitalised words that may stand just before a place name without making it a person's name.
LEADING_OK = frozenset(
    "the in at of on from to for by with near across outside inside throughout and but while when after"
    " before since unlike like meanwhile today yesterday last this that a an as both neighboring"
    " neighbouring nearby suburban rural urban downtown greater metro metropolitan north south east west"
    " northern southern eastern western central northeast northwest southeast southwest upstate downstate"
    " coastal city town village township borough county suburb suburbs breaking just in update"
    " exclusive watch video photos opinion editorial letter new".split()
)
# Words after a place name that mark it as a government or as the place (not a firm or a person).
GOV_AFTER = frozenset(
    "city council mayor police pd sheriff sheriff's jail detention board commission commissioners"
    " commissioners' township village town municipal government officials leaders residents aldermen"
    " selectboard selectmen supervisors freeholders legislature court executive manager attorney"
    " administrator hall department".split()
)
FEATURE_AFTER = frozenset(
    "river lake valley delta bay sound gulf mountains mountain street st st. avenue ave ave. road rd"
    " boulevard blvd drive parkway highway hwy bridge tunnel airport university college field stadium"
    " arena center centre mall plaza rink station line express heights".split()
)
NEEDS_CUE = frozenset(
    "enterprise independence paradise surprise mobile jamaica ontario vancouver valencia columbia lincoln"
    " jackson warren tyler norman montgomery henderson richardson irving everett kent lancaster madison"
    " lafayette cleveland hampton clovis brandon cary elizabeth athens manchester birmingham cambridge"
    " orange chinatown koreatown tri-cities meads maryvale bushwick gravesend victoria providence"
    " washington mission commerce justice industry liberty union hope unity victory security marshall"
    " harlem queens brooklyn manhattan".split()
)
STATE_GOV_AFTER = frozenset(
    "legislature senate house assembly governor gov attorney sheriffs counties statute law laws code"
    " department republican democratic gop".split()
)


@dataclass(kw_only=True)
class Mention:
    start: int
    end: int
    surface: str
    kind: str  # "place" | "county" | "state"
    candidates: tuple[Place, ...]
    qualifier: str | None = None
    cues: set[str] = field(default_factory=set)
    strength: float = 0.0
    resolved: Place | None = None


@dataclass(kw_only=True)
class PlaceFinding:
    mentions: list[Mention]
    state_context: dict[str, float]


def _strip(token: str) -> str:
    if token.endswith(("'s", "’s")):
        token = token[:-2]
    if token.endswith(".") and norm(token) not in ("st.", "ft.", "mt.", "d.c.") and token.count(".") == 1:
        token = token[:-1]
    return token


def _state_from(text: str, gaz: Gazetteer, *, allow_code: bool = True) -> str | None:
    key = norm(text).rstrip(",")
    if key in gaz.states_by_name:
        return gaz.states_by_name[key].state
    if key in AP_STATE_ABBREVIATIONS:
        return AP_STATE_ABBREVIATIONS[key]
    if key.endswith(".") and key[:-1] in gaz.states_by_name:
        return gaz.states_by_name[key[:-1]].state
    stripped = text.strip().rstrip(".,")
    if allow_code and len(stripped) == 2 and stripped.isupper() and stripped in gaz.states_by_code:
        return stripped
    return None


def _qualifier_after(doc: Document, end: int, gaz: Gazetteer) -> tuple[str | None, int]:
    """A state named right after a place (", Calif." / ", CA" / " (Texas)" / ", New Jersey")."""
    text = doc.text
    if end >= len(text) or text[end] not in ",( ":
        return None, end
    match = _QUALIFIER_RE.match(text, end, min(len(text), end + 40))
    if not match or (text[end] == " " and text[end : end + 2] != " ("):
        return None, end
    words = match.group(1).split()
    for size in range(len(words), 0, -1):
        candidate = " ".join(words[:size])
        state = _state_from(candidate, gaz)
        if state:
            offset = match.start(1) + len(candidate)
            return state, offset
    return None, end


_CAP_WORD = r"[A-Z][A-Za-z'’\-]*(?:\.(?:[A-Za-z]\.)*)?"
_CAP_RUN_RE = re.compile(rf"{_CAP_WORD}(?: (?:(?:of|de|del|la|las|los|le|du|upon|on) )?{_CAP_WORD})*")
_WORD_SPAN_RE = re.compile(r"\S+")


def _tokens_runs(text: str) -> list[list[tuple[int, int, str]]]:
    """Runs of capitalised words (with "of", "de", "la" ... inside), split after a sentence-final period."""
    runs: list[list[tuple[int, int, str]]] = []
    for match in _CAP_RUN_RE.finditer(text):
        current: list[tuple[int, int, str]] = []
        for word in _WORD_SPAN_RE.finditer(match.group()):
            token = word.group()
            start = match.start() + word.start()
            current.append((start, start + len(token), token))
            if token.endswith(".") and norm(token) not in ("st.", "ft.", "mt.") and token.count(".") == 1:
                runs.append(current)
                current = []
        if current:
            runs.append(current)
    return runs


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


def _overlaps(spans: list[tuple[int, int]], start: int, end: int) -> bool:
    return any(a < end and start < b for a, b in spans)


def _find_datelines(doc: Document, gaz: Gazetteer, mentions: list[Mention]) -> None:
    seen_paragraphs = 0
    last_paragraph = -1
    for sentence in doc.sentences:
        if sentence.paragraph == last_paragraph:
            continue
        last_paragraph = sentence.paragraph
        seen_paragraphs += 1
        if seen_paragraphs > 4:
            break
        match = _DATELINE_RE.match(doc.text, sentence.start, min(sentence.end, sentence.start + 120))
        if not match:
            continue
        raw_place = match.group("place").strip()
        state = _state_from(match.group("state") or "", gaz) if match.group("state") else None
        if state is None and match.group("state"):
            continue  # "ALBUQUERQUE, FEBRUARY 12" and the like: the second part is a date
        words = raw_place.split()
        if not words or len(words) > 4 or not (raw_place.isupper() or state):
            continue
        start = match.start("place")
        kind, candidates = "place", gaz.places(raw_place)
        if words[-1].lower() in ("county", "parish"):
            kind, candidates = "county", gaz.counties(raw_place)
        elif norm(raw_place) in gaz.states_by_name:
            kind, candidates = "state", (gaz.states_by_name[norm(raw_place)],)
        if not candidates:
            continue
        mentions.append(
            Mention(
                start=start,
                end=start + len(raw_place),
                surface=raw_place,
                kind=kind,
                candidates=candidates,
                qualifier=state,
                cues={"dateline"},
                strength=3.0,
            )
        )


def _find_counties(
    doc: Document, gaz: Gazetteer, mentions: list[Mention], taken: list[tuple[int, int]]
) -> None:
    text = doc.text
    for match in _COUNTY_SUFFIX_RE.finditer(text):
        suffix = match.group().capitalize()
        head = text[max(0, match.start() - 160) : match.start()]
        words = list(re.finditer(r"[A-Za-z][A-Za-z'’.\-]*", head))
        if suffix in ("Counties", "Parishes"):
            single = "County" if suffix == "Counties" else "Parish"
            # "Denton, Hays, Henderson ... and Williamson Counties": walk back over the list.
            tail = head
            list_match = re.search(
                r"((?:[A-Z][A-Za-z'’.\-]*(?: [A-Z][A-Za-z'’.\-]*)?(?:,\s+|\s+and\s+|\s*&\s*|,\s+and\s+))+"
                r"[A-Z][A-Za-z'’.\-]*(?: [A-Z][A-Za-z'’.\-]*)?)\s+$",
                tail,
            )
            if not list_match:
                continue
            base = match.start() - len(head) + list_match.start(1)
            for item in re.finditer(r"[A-Z][A-Za-z'’.\-]*(?: [A-Z][A-Za-z'’.\-]*)?", list_match.group(1)):
                name = f"{item.group()} {single}"
                found = gaz.counties(name)
                if found:
                    start = base + item.start()
                    mentions.append(
                        Mention(
                            start=start,
                            end=start + len(item.group()),
                            surface=name,
                            kind="county",
                            candidates=found,
                            strength=3.0,
                            cues={"list"},
                        )
                    )
            taken.append((base, match.end()))
            continue
        for size in range(min(4, len(words)), 0, -1):
            chunk = words[-size:]
            if head[chunk[0].start() : len(head)].rstrip() != head[chunk[0].start() :].rstrip():
                continue
            gap_ok = all(head[a.end() : b.start()] == " " for a, b in zip(chunk, chunk[1:], strict=False))
            if not gap_ok or head[chunk[-1].end() :] != " ":
                continue
            name = " ".join(_strip(w.group()) if w is chunk[-1] else w.group() for w in chunk) + " " + suffix
            found = gaz.counties(name)
            if found:
                start = match.start() - len(head) + chunk[0].start()
                mentions.append(
                    Mention(
                        start=start,
                        end=match.end(),
                        surface=text[start : match.end()],
                        kind="county",
                        candidates=found,
                        strength=3.0,
                    )
                )
                taken.append((start, match.end()))
                break
    for match in _COUNTY_OF_RE.finditer(text):
        words = match.group(1).split()
        for size in range(len(words), 0, -1):
            name = " ".join(words[:size])
            found = gaz.counties(_strip(name) + " County")
            if found and not _overlaps(taken, match.start(), match.end()):
                end = match.start(1) + len(name)
                mentions.append(
                    Mention(
                        start=match.start(),
                        end=end,
                        surface=text[match.start() : end],
                        kind="county",
                        candidates=found,
                        strength=3.0,
                        cues={"gov"},
                    )
                )
                taken.append((match.start(), end))
                break


def _find_runs(doc: Document, gaz: Gazetteer, mentions: list[Mention], taken: list[tuple[int, int]]) -> None:
    text = doc.text
    for run in _tokens_runs(text):
        i = 0
        while i < len(run):
            if run[i][2] in CONNECTORS:
                i += 1
                continue
            hit: tuple[int, str, tuple[Place, ...]] | None = None
            for size in range(min(gaz.max_place_tokens, len(run) - i), 0, -1):
                words = [w for _, _, w in run[i : i + size]]
                words[-1] = _strip(words[-1])
                key = norm(" ".join(words))
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
            size, kind, candidates = hit
            start, end = run[i][0], run[i + size - 1][1]
            surface = _strip(text[start:end])
            end = start + len(surface)
            if not _overlaps(taken, start, end):
                mention = Mention(start=start, end=end, surface=surface, kind=kind, candidates=candidates)
                prev_word = run[i - 1][2] if i > 0 else ""
                next_word = run[i + size][2] if i + size < len(run) else ""
                mention.cues.add(f"prev:{norm(_strip(prev_word))}" if prev_word else "prev:")
                mention.cues.add(f"next:{norm(_strip(next_word))}" if next_word else "next:")
                mentions.append(mention)
            i += size


def _support(doc: Document, m: Mention, surnames: set[str], ctx: dict[str, float]) -> float:
    """How sure we are that a run match is the place (not a person, firm or common word)."""
    text = doc.text
    prev = next((c for c in m.cues if c.startswith("prev:")), "prev:")[5:]
    nxt = next((c for c in m.cues if c.startswith("next:")), "next:")[5:]
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
    if re.search(
        r"\b(?:city|town|village|township|borough|mayor|residents|suburb) of\s+(?:the\s+)?$", before
    ):
        strength += 3.0
        m.cues.add("gov")
        if re.search(r"\btown(?:ship)? of\s+$", before):
            m.cues.add("town")
    if re.match(
        r"(?:['’]s)?\s+(?:city council|city commission|town council|town board|village board|"
        r"board of (?:aldermen|selectmen|supervisors)|mayor|police|city hall|city manager|city attorney|"
        r"council|selectboard|select board|township)\b",
        after,
    ):
        strength += 3.0
        m.cues.add("gov")
        if re.match(r"(?:['’]s)?\s+town\b", after):
            m.cues.add("town")
    if prev in PERSON_TITLES:
        return 0.0
    if prev and prev not in LEADING_OK and prev not in CONNECTORS and not titlecase and "gov" not in m.cues:
        surnames.add(key)
        return 0.0
    if nxt and nxt not in GOV_AFTER and nxt not in LEADING_OK and not titlecase and not m.qualifier:
        if key in surnames or len(m.candidates[0].name.split()) == 1:
            return 0.0
    if key in surnames and strength < 3.0:
        return 0.0
    if re.match(r"\s+(?:said|says|told|added|argued|wrote|noted|stated)\b", after) and strength < 3.0:
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


def _state_context(
    doc: Document, gaz: Gazetteer, mentions: list[Mention], home_state: str | None
) -> dict[str, float]:
    ctx: dict[str, float] = defaultdict(float)
    lower = doc.lower
    for demonym, state in STATE_DEMONYMS.items():
        if demonym in lower:
            ctx[state] += lower.count(demonym)
    for m in mentions:
        if m.qualifier:
            ctx[m.qualifier] += 0.5
        if m.kind == "state" and m.strength > 0 and "qualifier" not in m.cues:
            ctx[m.candidates[0].state] += 1.0
    for region, state in (
        ("southern california", "CA"),
        ("northern california", "CA"),
        ("central valley", "CA"),
        ("bay area", "CA"),
        ("upstate new york", "NY"),
    ):
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
    _find_datelines(doc, gaz, mentions)
    taken = [(m.start, m.end) for m in mentions]
    _find_counties(doc, gaz, mentions, taken)
    taken = [(m.start, m.end) for m in mentions]
    _find_runs(doc, gaz, mentions, taken)
    for m in mentions:
        if m.qualifier is None and "dateline" not in m.cues and m.kind != "state":
            m.qualifier, _ = _qualifier_after(doc, m.end, gaz)
    qualifier_spans = []
    for m in mentions:
        if m.kind != "state" and m.qualifier:
            _, q_end = _qualifier_after(doc, m.end, gaz)
            qualifier_spans.append((m.end, q_end))
    for m in mentions:
        if m.kind == "state" and _overlaps(qualifier_spans, m.start, m.end):
            m.cues.add("qualifier")
    pre_ctx = _state_context(doc, gaz, [m for m in mentions if m.kind == "state" or m.qualifier], None)
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
    ctx = _state_context(doc, gaz, kept, home_state)
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
