"""Place mentions with fixed shapes: datelines, "X County" / "A, B and C Counties" / "County of X",
and the state qualifier right after a place (", Calif." / ", CA" / " (Texas)")."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from pipeline.tagging.document import Document
from pipeline.tagging.gazetteer import AP_STATE_ABBREVIATIONS, Gazetteer, Place, norm
from pipeline.tagging.scan import StartScan

# \b(?:County|...)\b and \b[Cc]ounty of (...), scanned from the words they start with.
_COUNTY_SUFFIX = StartScan(
    r"(?:County|COUNTY|Parish|PARISH|Borough|BOROUGH|Counties|COUNTIES|Parishes)\b",
    ("Count", "COUNT", "Parish", "PARISH", "Borough", "BOROUGH"),
)
_COUNTY_OF = StartScan(
    r"[Cc]ounty of ((?:[A-Z][A-Za-z'’.\-]*)(?: [A-Z][A-Za-z'’.\-]*){0,3})", ("County of ", "county of ")
)
_DATELINE_RE = re.compile(
    r"^\(?(?:[^\n:]{0,60}:\s+)?(?:[A-Z][a-z]{2,8}\.? \d{1,2}, \d{4},\s*)?"
    r"(?P<place>[A-Z][A-Za-z.'’\- ]{1,40}?)(?:,\s*(?P<state>[A-Z][A-Za-z. ]{1,20}?))?\)?\s*"
    r"(?:\([^)\n]{1,40}\)\s*)?(?:[—–]|--| - )"
)
_HEAD_WORD_RE = re.compile(r"[A-Za-z][A-Za-z'’.\-]*")
_COUNTY_LIST_RE = re.compile(
    r"((?:[A-Z][A-Za-z'’.\-]*(?: [A-Z][A-Za-z'’.\-]*)?(?:,\s+|\s+and\s+|\s*&\s*|,\s+and\s+))+"
    r"[A-Z][A-Za-z'’.\-]*(?: [A-Z][A-Za-z'’.\-]*)?)\s+$"
)
_LIST_ITEM_RE = re.compile(r"[A-Z][A-Za-z'’.\-]*(?: [A-Z][A-Za-z'’.\-]*)?")
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
    # The run words just before and after a name found in a capitalised run (its "prev:" and
    # "next:" cues, lower-cased), "" for other mentions.
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


def overlaps(spans: list[tuple[int, int]], start: int, end: int) -> bool:
    return any(a < end and start < b for a, b in spans)


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


_HEAD_SEPARATOR_RE = re.compile(r"[^A-Za-z'’.\-]")
_LAST_WORDS_WINDOW = 48


def _last_words(head: str, count: int) -> list[re.Match[str]]:
    """The words of ``head`` as ``_HEAD_WORD_RE.finditer(head)`` finds them, at least the last
    ``count`` (all of them when there are fewer). Scanning starts just after a separator, where a
    scan from the start is between words too, so the words found are the same."""
    window = _LAST_WORDS_WINDOW
    while True:
        start = max(0, len(head) - window)
        if start > 0:
            separator = _HEAD_SEPARATOR_RE.search(head, start - 1)
            start = separator.end() if separator else len(head)
        words = list(_HEAD_WORD_RE.finditer(head, start))
        if len(words) >= count or start == 0:
            return words
        window *= 2


def find_counties(
    doc: Document, gaz: Gazetteer, mentions: list[Mention], taken: list[tuple[int, int]]
) -> None:
    text = doc.text
    for match in _COUNTY_SUFFIX.finditer(text):
        suffix = match.group().capitalize()
        head = text[max(0, match.start() - 160) : match.start()]
        if suffix in ("Counties", "Parishes"):
            single = "County" if suffix == "Counties" else "Parish"
            # "Denton, Hays, Henderson ... and Williamson Counties": walk back over the list.
            tail = head
            list_match = _COUNTY_LIST_RE.search(tail)
            if not list_match:
                continue
            base = match.start() - len(head) + list_match.start(1)
            for item in _LIST_ITEM_RE.finditer(list_match.group(1)):
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
        words = _last_words(head, 4)[-4:]
        # "X Y County": the name's words end just before the suffix, one space apart.
        if not words or head[words[-1].end() :] != " ":
            continue
        spaced = 1  # the last `spaced` words are one space apart
        while spaced < len(words) and head[words[-spaced - 1].end() : words[-spaced].start()] == " ":
            spaced += 1
        names = [w.group() for w in words]
        names[-1] = strip_token(names[-1])
        for size in range(spaced, 0, -1):
            found = gaz.counties(" ".join(names[-size:]) + " " + suffix)
            if found:
                start = match.start() - len(head) + words[-size].start()
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
    for match in _COUNTY_OF.finditer(text):
        names = match.group(1).split()
        for size in range(len(names), 0, -1):
            name = " ".join(names[:size])
            found = gaz.counties(strip_token(name) + " County")
            if found and not overlaps(taken, match.start(), match.end()):
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
