"""Where a text names a place: datelines, "X County" / "A, B and C Counties" / "County of X", runs of
capitalised words looked up in the gazetteer ("Nashville City Council", "St. Paul"), and the state
qualifier right after a place (", Calif." / ", CA" / " (Texas)")."""

from __future__ import annotations

import bisect
import itertools
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from pipeline.tagging.document import Document
from pipeline.tagging.gazetteer import AP_STATE_ABBREVIATIONS, Gazetteer, Place, norm
from pipeline.tagging.lexicons import word_start_matches
from pipeline.tagging.placewords import CONNECTORS, GOV_AFTER

# Both are matched at word starts (``word_start_matches``: as if led by "\b").
_COUNTY_SUFFIX_RE = re.compile(
    r"(?:County|COUNTY|Parish|PARISH|Borough|BOROUGH|Census Area|Counties|COUNTIES|Parishes"
    r"|county|counties|parish)\b"
)
_COUNTY_OF_RE = re.compile(r"[Cc]ounty of ((?:[A-Z][A-Za-z'’.\-]*)(?: [A-Z][A-Za-z'’.\-]*){0,3})")
_DATELINE_RE = re.compile(
    r"\(?(?:[^\n:]{0,60}:\s+)?(?:[A-Z][a-z]{2,8}\.? \d{1,2}, \d{4},\s*)?"
    r"(?P<place>[A-Z][A-Za-z.'’\- ]{1,40}?)(?:,\s*(?P<state>[A-Z][A-Za-z. ]{1,20}?))?\)?\s*"
    r"(?:\([^)\n]{1,40}\)\s*)?(?:[—–]|--| - )"
)
_HEAD_WORD_RE = re.compile(r"[^\W\d_][\w'’.\-]*")  # "Doña", "O'Brien", "Miami-Dade", "St."
_COUNTY_LIST_RE = re.compile(
    r"((?:[A-Z][\w'’.\-]*(?: [A-Z][\w'’.\-]*)?(?:,\s+|\s+and\s+|\s*&\s*|,\s+and\s+))+"
    r"[A-Z][\w'’.\-]*(?: [A-Z][\w'’.\-]*)?)\s+$"
)
_LIST_ITEM_RE = re.compile(r"[A-Z][\w'’.\-]*(?: [A-Z][\w'’.\-]*)?")
_CAPITAL_BEFORE_RE = re.compile(r"[A-Z][\w'’.\-]* $")  # a capitalised word just before
_QUALIFIER_RE = re.compile(r",?\s*\(?((?:[A-Z][A-Za-z]*\.?(?:[A-Za-z]\.)*)(?:\s+[A-Z][A-Za-z]*\.?){0,2})")


@dataclass(kw_only=True)
class Mention:
    start: int
    end: int
    surface: str
    kind: str  # "place" | "county" | "state"
    candidates: tuple[Place, ...]
    qualifier: str | None = None
    cues: set[str] = field(default_factory=set)
    # The run words just before and after a name found in a capitalised run (lower-cased), "" for
    # other mentions.
    prev_word: str = ""
    next_word: str = ""
    strength: float = 0.0
    resolved: Place | None = None


def strip_token(token: str) -> str:
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


def qualifier_after(doc: Document, end: int, gaz: Gazetteer) -> tuple[str | None, int]:
    """A state named right after a place (", Calif." / ", CA" / " (Texas)" / ", New Jersey")."""
    text = doc.text
    if end >= len(text) or text[end] not in ",( " or (text[end] == " " and text[end : end + 2] != " ("):
        return None, end
    match = _QUALIFIER_RE.match(text, end, min(len(text), end + 40))
    if not match:
        return None, end
    words = match.group(1).split()
    for size in range(len(words), 0, -1):
        candidate = " ".join(words[:size])
        state = _state_from(candidate, gaz)
        if state:
            offset = match.start(1) + len(candidate)
            return state, offset
    return None, end


class TakenSpans:
    """Spans already claimed by a mention, asked whether a new span overlaps one of them in O(log n)
    (a loop over every span per mention made long texts quadratic: 2 MB took minutes).

    Sorted by start, with the furthest end reached so far: some span overlaps ``[start, end)`` iff,
    among the spans that start before ``end``, the furthest end lies after ``start``."""

    def __init__(self, spans: Iterable[tuple[int, int]]) -> None:
        ordered = sorted(spans)
        self._starts = [a for a, _ in ordered]
        self._reach = list(itertools.accumulate((b for _, b in ordered), max))

    def overlaps(self, start: int, end: int) -> bool:
        before_end = bisect.bisect_left(self._starts, end)
        return before_end > 0 and self._reach[before_end - 1] > start


def find_datelines(doc: Document, gaz: Gazetteer, mentions: list[Mention]) -> None:
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
        elif norm(raw_place) == "washington" and state is None:
            # "WASHINGTON —" is the capital (AP style), where federal agencies date their releases.
            candidates = tuple(p for p in gaz.places(raw_place) if p.state == "DC")
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


def _county_list(
    doc: Document, gaz: Gazetteer, match: re.Match[str], single: str, mentions: list[Mention]
) -> int | None:
    """ "Denton, Hays and Williamson Counties" (or "Riverside and San Bernardino county sheriffs"):
    walk back over the list; the start of the list when at least one item is a county."""
    head = doc.text[max(0, match.start() - 160) : match.start()]
    list_match = _COUNTY_LIST_RE.search(head)
    if not list_match:
        return None
    base = match.start() - len(head) + list_match.start(1)
    found_any = False
    for item in _LIST_ITEM_RE.finditer(list_match.group(1)):
        name = f"{item.group()} {single}"
        found = gaz.counties(name)
        if found and norm(item.group()) not in gaz.states_by_name:
            found_any = True
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
    return base if found_any else None


def _county_names(words: list[str]) -> list[tuple[int, str]]:
    """Names to look up before "County", longest first, as (words used, name): "Prince George's"
    as written before "Prince George", and "Nashville-Davidson" also as "Davidson"."""
    out: list[tuple[int, str]] = []
    for size in range(len(words), 0, -1):
        chunk = words[-size:]
        out.append((size, " ".join(chunk)))
        stripped = strip_token(chunk[-1])
        if stripped != chunk[-1]:
            out.append((size, " ".join([*chunk[:-1], stripped])))
    if "-" in words[-1]:
        out.append((0, strip_token(words[-1].rsplit("-", 1)[1])))
    return out


def find_counties(
    doc: Document, gaz: Gazetteer, mentions: list[Mention], taken: list[tuple[int, int]]
) -> None:
    text = doc.text
    for match in word_start_matches(_COUNTY_SUFFIX_RE, text):
        suffix = match.group().title()
        lowercase = match.group().islower()  # "the Riverside county jail": only after a capital
        if lowercase and not _CAPITAL_BEFORE_RE.search(text, max(0, match.start() - 40), match.start()):
            continue
        if suffix in ("Counties", "Parishes") or (lowercase and suffix == "County"):
            single = "Parish" if suffix == "Parishes" else "County"
            base = _county_list(doc, gaz, match, single, mentions)
            if base is not None:
                taken.append((base, match.end()))
                continue
            if suffix != "County":
                continue
        head = text[max(0, match.start() - 100) : match.start()]  # four words at most
        words = list(_HEAD_WORD_RE.finditer(head))[-4:]
        # "X Y County": the name's words end just before the suffix, one space apart.
        if not words or head[words[-1].end() :] != " ":
            continue
        spaced = 1  # the last `spaced` words are one space apart
        while spaced < len(words) and head[words[-spaced - 1].end() : words[-spaced].start()] == " ":
            spaced += 1
        words = words[-spaced:]
        for size, name in _county_names([w.group() for w in words]):
            first = words[-size] if size else words[-1]
            if lowercase and (not first.group()[:1].isupper() or norm(name) in gaz.states_by_name):
                continue
            found = gaz.counties(f"{name} {suffix}")
            if found:
                start = match.start() - len(head) + first.start()
                if size == 0:  # the part after the hyphen
                    start += first.group().rindex("-") + 1
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
    # A "County of X" span never overlaps an earlier one (each ends within its own match), so the
    # spans taken so far are indexed once.
    taken_before = TakenSpans(taken)
    for match in word_start_matches(_COUNTY_OF_RE, text):
        names = match.group(1).split()
        for size in range(len(names), 0, -1):
            name = " ".join(names[:size])
            found = gaz.counties(strip_token(name) + " County")
            if found and not taken_before.overlaps(match.start(), match.end()):
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


# --- capitalised runs ---------------------------------------------------------------------------

_CAP_WORD = r"[A-Z][A-Za-z'’\-]*(?:\.(?:[A-Za-z]\.)*)?"
_CAP_RUN_RE = re.compile(rf"{_CAP_WORD}(?: (?:(?:of|de|del|la|las|los|le|du|upon|on) )?{_CAP_WORD})*")
# Abbreviations that end in a period without ending the sentence ("St. Paul").
_RUN_KEEPS = ("st.", "ft.", "mt.")


def _split_run(match: re.Match[str]) -> list[list[tuple[int, int, str]]]:
    """A capitalised run's words (with "of", "de", "la" ... inside) as (start, end, word), cut after
    a sentence-final period."""
    runs: list[list[tuple[int, int, str]]] = []
    current: list[tuple[int, int, str]] = []
    start = match.start()
    for token in match.group().split(" "):  # a run's words are one space apart
        end = start + len(token)
        current.append((start, end, token))
        if token.endswith(".") and token.count(".") == 1 and norm(token) not in _RUN_KEEPS:
            runs.append(current)
            current = []
        start = end + 1
    if current:
        runs.append(current)
    return runs


def _word_key(word: str) -> str:
    """``norm`` of one word of a run (it holds no whitespace: only case and apostrophes change)."""
    return word.replace("’", "'").lower()


def _run_mentions(run: list[tuple[int, int, str]], gaz: Gazetteer) -> list[Mention]:
    """The gazetteer names in one run, longest first from each word."""
    plain = [_word_key(w) for _, _, w in run]
    # ``strip_token`` changes only a word ending in "'s" or ".": the others keep their plain key.
    stripped = [
        _word_key(strip_token(w)) if w.endswith(("s", ".")) else key
        for (_, _, w), key in zip(run, plain, strict=True)
    ]
    found: list[Mention] = []
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
            places = gaz.places_by_name.get(key)
            if places:
                hit = (size, "place", places)
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
        surface = strip_token(" ".join(w for _, _, w in run[i : i + size]))
        prev = stripped[i - 1] if i > 0 else ""
        nxt = stripped[i + size] if i + size < len(run) else ""
        start = run[i][0]
        found.append(
            Mention(
                start=start,
                end=start + len(surface),
                surface=surface,
                kind=kind,
                candidates=candidates,
                prev_word=prev,
                next_word=nxt,
            )
        )
        i += size
    return found


def find_runs(doc: Document, gaz: Gazetteer, mentions: list[Mention], taken: list[tuple[int, int]]) -> None:
    """Place and state names in runs of capitalised words, outside the spans already ``taken``."""
    taken_spans = TakenSpans(taken)
    for match in _CAP_RUN_RE.finditer(doc.text):
        word = match.group()
        if " " not in word and _word_key(strip_token(word)) not in gaz.first_words:
            continue  # most runs are one word that starts no name: "The", "Sheriff", "ICE"
        for run in _split_run(match):
            for mention in _run_mentions(run, gaz):
                if not taken_spans.overlaps(mention.start, mention.end):
                    mentions.append(mention)
