"""Shared text analysis: headline, sentences, quoted spans and whose voice each sentence carries.

Every tagging step reads the same ``Document`` built once per item by ``analyse``; nothing here
knows about places, stance or events.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from pipeline.tagging.scan import StartScan, alternation_scan, caseless_probe_ok, literal_positions

HEADLINE_MAX_CHARS = 220
VOICE_HEADLINE = 2.0
VOICE_OWN = 1.0
VOICE_QUESTION = 0.5
VOICE_ATTRIBUTED = 0.2
VOICE_QUOTED = 0.0
VOICE_QUOTED_PRESS_RELEASE = 0.6

_PARA_RE = re.compile(r"[^\n]+")
_SENTENCE_END_MARKS = (".", "!", "?", "…")
_SENT_SPLIT_RE = re.compile(r"(?<=[.!?…])[\"”’)\]]*\s+(?=[\"“‘(\[]?[A-Z0-9])")
_ABBREVIATIONS = (
    "Mr|Mrs|Ms|Dr|Gov|Sen|Rep|Reps|Lt|Gen|Col|Sgt|Capt|St|Ft|Mt|Jr|Sr|Inc|Co|Corp|No|vs|Ave|Blvd"
    "|Jan|Feb|Aug|Sept|Oct|Nov|Dec|Ala|Ariz|Ark|Calif|Cal|Colo|Conn|Del|Fla|Ga|Ill|Ind|Kan|Kans|Ky|La|Md"
    "|Mass|Mich|Minn|Miss|Mo|Mont|Neb|Nebr|Nev|Okla|Ore|Oreg|Pa|Penn|Tenn|Tex|Va|Vt|Wash|Wis|Wisc|Wyo"
)
_ABBREV_END_RE = re.compile(rf"(?:\b(?:{_ABBREVIATIONS})|\b[A-Z]|\b(?:[A-Z]\.){{1,3}}[A-Z])\.$")
_ABBREVIATION_WORDS = frozenset(_ABBREVIATIONS.split("|"))
_ASCII_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
# A match of _ABBREV_END_RE ends the text and is at most 8 characters long ("U.S.A.B." shape), so
# searching the last 16 characters finds the same (the boundary before it stays inside the slice).
_ABBREV_TAIL = 16
# An embedded post: its text, then a line like "— Yashar Ali (@yashar) June 9, 2025".
_POST_CREDIT_RE = re.compile(r"^\s*[—–-]{1,2}\s*[^\n]{1,80}\(@\w{1,30}\)")
_URL_SLUG_RE = re.compile(r"[^/]+(?=/?(?:[?#].*)?$)")

# A sentence that reports what someone else says or thinks (outside its quoted parts).
_ATTRIBUTION_WORDS = (
    r"said|says|say|told|tells|stated|states|added|adds|noted|notes|argued|argues|argue|arguing"
    r"|claimed|claims|claim|claiming|contended|contends|contend|believes?|believed|wrote|writes"
    r"|tweeted|posted|remarked|explained|explains|insisted|insists|insist|warned|warns|warn|maintains?"
    r"|maintained|asserted|asserts|alleged|alleges|accused|accuses|accusing|criticized|criticised"
    r"|criticizes|criticizing|condemned|condemns|praised|praises|applauded|welcomed|urged|urges|describ\w+"
    r"|called (?:it|the|this|them|on)|calling (?:it|the|this)|view(?:s|ed)? (?:it|this|the|these)"
    r"|see(?:s)? (?:it|this) as|worr(?:y|ies|ied)|fear(?:s|ed)? that|express(?:ed|es)? (?:concern"
    r"|support|hope)"
    r"|according to|in a statement|spokes(?:wo)?man|spokesperson|suggest(?:s|ed)? that|contend(?:s|ed)?"
    r"|aims? to|aiming to|seeks? to|seeking to|hopes? to|intends? to|wants? to"
)
_ATTRIBUTION_RE = re.compile(rf"\b(?:{_ATTRIBUTION_WORDS})\b")
# The same matches, found in a whole lower-cased text from the words they start with.
_ATTRIBUTION = alternation_scan(_ATTRIBUTION_WORDS, indexed=True)
_FIRST_PERSON_RE = re.compile(r"(?:^|[\s,;:])(?:we|our|us|i|my)\b(?!\.)", re.IGNORECASE)
_PRESS_RELEASE_RE = re.compile(
    r"press release|news release|for immediate release|statement (?:was )?released by|^from the [^\n:]{3,80}:"
    r"|^a statement (?:by|from)|^statement (?:by|from|of)",
    re.IGNORECASE | re.MULTILINE,
)
_PRESS_RELEASE_WORDS = ("release", "statement", "from the ")
_PRESS_RELEASE_URL_RE = re.compile(r"press[-_]?releases?|news[-_]?releases?|/statements?[/.]|statement\.html")


@dataclass(kw_only=True)
class Sentence:
    start: int
    end: int
    text: str
    paragraph: int
    is_headline: bool
    attributed: bool
    voice: float


@dataclass(kw_only=True)
class Document:
    """An item prepared for tagging. Offsets index ``text`` (headline first when there is one)."""

    text: str
    lower: str
    masked_lower: str
    headline: str
    headline_end: int
    url_words: str
    sentences: list[Sentence]
    quotes: list[tuple[int, int]]
    press_release: bool
    _starts: list[int] = field(default_factory=list)
    _quote_starts: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._starts = [s.start for s in self.sentences]
        self._quote_starts = [q[0] for q in self.quotes]

    def sentence_at(self, offset: int) -> Sentence:
        index = max(0, bisect.bisect_right(self._starts, offset) - 1)
        return self.sentences[index]

    def sentence_index(self, offset: int) -> int:
        return max(0, bisect.bisect_right(self._starts, offset) - 1)

    def in_quote(self, offset: int) -> bool:
        index = bisect.bisect_right(self._quote_starts, offset) - 1
        return index >= 0 and self.quotes[index][0] <= offset < self.quotes[index][1]

    def voice(self, offset: int) -> float:
        """How much the item's own voice speaks at this offset (0 = someone else's words)."""
        if self.in_quote(offset):
            return VOICE_QUOTED_PRESS_RELEASE if self.press_release else VOICE_QUOTED
        return self.sentence_at(offset).voice

    def in_headline(self, offset: int) -> bool:
        return offset < self.headline_end


def _paragraphs(text: str) -> Iterator[tuple[int, int]]:
    for match in _PARA_RE.finditer(text):
        if match.group().strip():
            yield match.start(), match.end()


def _split_sentences(text: str, start: int, end: int, ends: list[int]) -> list[tuple[int, int]]:
    """Sentences of the paragraph ``text[start:end]``; ``ends`` are the offsets just after every
    ".", "!", "?" or "…" of ``text`` (sorted): a split (_SENT_SPLIT_RE) can only start there."""
    pieces: list[tuple[int, int]] = []
    cursor = start
    resume = start
    split_at = _SENT_SPLIT_RE.match
    for at in ends[bisect.bisect_left(ends, start) : bisect.bisect_left(ends, end)]:
        if at < resume:
            continue
        match = split_at(text, at, end)
        if match is None:
            continue
        resume = match.end()
        # The piece ends with the mark the split follows (nothing to strip after it); only a "."
        # after a short word can end an abbreviation.
        if (
            text[at - 1] == "."
            and _may_abbreviate(text, cursor, at)
            and _ABBREV_END_RE.search(text[max(cursor, at - _ABBREV_TAIL) : at])
        ):
            continue
        pieces.append((cursor, match.start()))
        cursor = match.end()
    pieces.append((cursor, end))
    return [(a, b) for a, b in pieces if text[a:b].strip()]


def _may_abbreviate(text: str, start: int, dot: int) -> bool:
    """Whether _ABBREV_END_RE can match before the "." at ``dot - 1``: the ASCII letters just before
    it must be one of the abbreviations, or one capital (alone or after "U.S."-like capitals)."""
    before = text[max(start, dot - 7) : dot - 1]
    word = before[len(before.rstrip(_ASCII_LETTERS)) :]
    if len(word) == 1:
        return word.isupper()
    return word in _ABBREVIATION_WORDS


_QUOTE_RE = re.compile(
    r"“[^”\n]*(?:”|$)|\"[^\"\n]*(?:\"|$)|(?<!\w)‘[^’\n]{0,120}?’(?![A-Za-z])", re.MULTILINE
)
# The same, tried only where a quote mark opens.
_QUOTES = StartScan(_QUOTE_RE.pattern, ("“", '"', "‘"), boundary=False, flags=re.MULTILINE)


def find_quotes(text: str) -> list[tuple[int, int]]:
    """Spans inside double quotes (curly or straight; an unclosed one runs to the paragraph end) and
    curly single quotes, sorted and disjoint."""
    return [m.span() for m in _QUOTES.finditer(text)]


def _post_quote_spans(text: str, paras: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Embedded social posts: the paragraph just before a "— Name (@handle)" credit line."""
    spans = []
    for index, (start, end) in enumerate(paras):
        if index and _POST_CREDIT_RE.match(text[start:end]):
            prev_start = paras[index - 1][0]
            spans.append((prev_start, end))
    return spans


def _unquoted(text: str, start: int, end: int, quotes: list[tuple[int, int]]) -> str:
    out = []
    cursor = start
    for q_start, q_end in quotes:
        if q_end <= start or q_start >= end:
            continue
        out.append(text[cursor : max(cursor, q_start)])
        cursor = max(cursor, q_end)
    out.append(text[cursor:end] if cursor < end else "")
    return " ".join(out)


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _looks_like_headline(line: str) -> bool:
    stripped = line.strip()
    words = stripped.split()
    return 2 <= len(words) <= 30 and len(stripped) <= HEADLINE_MAX_CHARS and not stripped.endswith((".", ":"))


def _press_release(lead: str) -> bool:
    """``_PRESS_RELEASE_RE`` found in ``lead``; every one of its matches contains "release",
    "statement" or "from the" in some case, so a lead without them is not searched."""
    lower = lead.lower()
    if caseless_probe_ok(lead, lower) and not any(word in lower for word in _PRESS_RELEASE_WORDS):
        return False
    return bool(_PRESS_RELEASE_RE.search(lead))


def url_words(url: str) -> str:
    """The words of a URL's last meaningful path segment ("glendale-ends-ice-contract" → words)."""
    path = url.split("://", 1)[-1].split("/", 1)[-1] if "/" in url.split("://", 1)[-1] else ""
    segments = [s for s in re.split(r"[/?#]", path) if "-" in s or "_" in s]
    if not segments:
        return ""
    best = max(segments, key=len)
    best = re.sub(r"\.(?:html?|php|aspx?)$", "", best)
    return " ".join(w for w in re.split(r"[-_]+", best) if w and not w.isdigit())


def analyse(*, title: str, text: str, url: str = "") -> Document:
    """Build the ``Document``: headline (title, or a short first line), sentences, quotes, voice."""
    title = " ".join(title.split())
    body = text.strip("\n")
    first_line = body.split("\n", 1)[0].strip() if body else ""
    if title and not body.startswith(title):
        full = f"{title}\n\n{body}"
        headline = title
    else:
        full = body
        headline = first_line if (title or _looks_like_headline(first_line)) else ""
    headline_end = len(headline) if headline and full.startswith(headline) else 0
    paras = list(_paragraphs(full))
    quotes = _merge(find_quotes(full) + _post_quote_spans(full, paras))
    quote_starts = [q[0] for q in quotes]
    press_release = _press_release(full[:600]) or bool(_PRESS_RELEASE_URL_RE.search(url.lower()))
    lower = full.lower()
    # Attribution words found once in the whole text. A sentence without quotes is its own words,
    # so a match inside it is a match in it (no match crosses a sentence end, all begin a word);
    # when lower-casing changed the length (offsets differ), every sentence is searched alone.
    aligned = len(lower) == len(full)
    attributions = [m.start() for m in _ATTRIBUTION.finditer(lower)] if aligned else []
    sentence_ends = [at + 1 for at in literal_positions(full, _SENTENCE_END_MARKS)]
    sentences: list[Sentence] = []
    for p_index, (p_start, p_end) in enumerate(paras):
        for s_start, s_end in _split_sentences(full, p_start, p_end, sentence_ends):
            raw = full[s_start:s_end]
            is_headline = s_start < headline_end
            last_quote = bisect.bisect_left(quote_starts, s_end) - 1
            if aligned and (last_quote < 0 or quotes[last_quote][1] <= s_start):
                first = bisect.bisect_left(attributions, s_start)
                attributed = first < len(attributions) and attributions[first] < s_end
                if attributed and press_release:
                    attributed = not _FIRST_PERSON_RE.search(raw.lower())
            else:
                own = _unquoted(full, s_start, s_end, quotes).lower()
                attributed = bool(_ATTRIBUTION_RE.search(own)) and not (
                    press_release and _FIRST_PERSON_RE.search(own)
                )
            if is_headline:
                voice = VOICE_HEADLINE * (0.5 if attributed else 1.0)
            elif attributed:
                voice = VOICE_ATTRIBUTED
            elif raw.rstrip('"”’) ').endswith("?"):
                voice = VOICE_QUESTION
            else:
                voice = VOICE_OWN
            sentences.append(
                Sentence(
                    start=s_start,
                    end=s_end,
                    text=raw,
                    paragraph=p_index,
                    is_headline=is_headline,
                    attributed=attributed,
                    voice=voice,
                )
            )
    if not sentences:
        sentences.append(
            Sentence(start=0, end=0, text="", paragraph=0, is_headline=False, attributed=False, voice=1.0)
        )
    pieces = []
    cursor = 0
    for q_start, q_end in quotes:
        pieces.append(lower[cursor:q_start])
        pieces.append(" " * (q_end - q_start))
        cursor = q_end
    pieces.append(lower[cursor:])
    return Document(
        text=full,
        lower=lower,
        masked_lower="".join(pieces),
        headline=headline,
        headline_end=headline_end,
        url_words=url_words(url),
        sentences=sentences,
        quotes=quotes,
        press_release=press_release,
    )
