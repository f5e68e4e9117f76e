"""Shared text analysis: headline, sentences, quoted spans, whose voice each sentence carries, and
the text's words.

Every tagging step reads the same ``Document`` built once per item by ``analyse``: the text is split
into sentences and each sentence into lower-cased words once, and the classifiers and the evidence
ranking all read those words. Nothing here knows about places, stance
or events.
"""

from __future__ import annotations

import bisect
import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from pipeline.tagging.lexicons import WordPattern

HEADLINE_MAX_CHARS = 220
VOICE_HEADLINE = 2.0
VOICE_OWN = 1.0
VOICE_QUESTION = 0.5
VOICE_ATTRIBUTED = 0.2
VOICE_QUOTED = 0.0
VOICE_QUOTED_PRESS_RELEASE = 0.6

_PARA_RE = re.compile(r"[^\n]+")
# A word of lower-cased text: letters and digits, with an apostrophe inside ("sheriff's", "don't").
_WORD_RE = re.compile(r"[a-z0-9]+(?:['’][a-z]+)?")
# "287(g)", "287 (g)", "287(g )": the program's name is one word, "287g".
_287G_RE = re.compile(r"287\s?\(\s?g\s?\)")
# A sentence ends at ".", "!", "?" or "…" (the match's first character: the scan skips to the next
# one), then closing quotes or brackets, then space before a capital or a digit.
_SENT_SPLIT_RE = re.compile(r"[.!?…][\"”’)\]]*\s+(?=[\"“‘(\[]?[A-Z0-9])")
_ABBREVIATIONS = (
    "Mr|Mrs|Ms|Dr|Gov|Sen|Rep|Reps|Lt|Gen|Col|Sgt|Capt|St|Ft|Mt|Jr|Sr|Inc|Co|Corp|No|vs|Ave|Blvd"
    "|Jan|Feb|Aug|Sept|Oct|Nov|Dec|Ala|Ariz|Ark|Calif|Cal|Colo|Conn|Del|Fla|Ga|Ill|Ind|Kan|Kans|Ky|La|Md"
    "|Mass|Mich|Minn|Miss|Mo|Mont|Neb|Nebr|Nev|Okla|Ore|Oreg|Pa|Penn|Tenn|Tex|Va|Vt|Wash|Wis|Wisc|Wyo"
)
_ABBREV_END_RE = re.compile(rf"(?:\b(?:{_ABBREVIATIONS})|\b[A-Z]|\b(?:[A-Z]\.){{1,3}}[A-Z])\.$")
# The longest text ``_ABBREV_END_RE`` can match ("U.S.A." is 6 characters, "A.B.C.D." 8): a split point is
# checked on its last few characters, not on the whole sentence before it.
_ABBREV_MAX_CHARS = 8
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
# The same words as a lexicon pattern: one scan of the whole text finds them for every sentence (each
# is found by its literal, where the regex, led by "\b", is tried at every position of each sentence).
_ATTRIBUTION = WordPattern(_ATTRIBUTION_RE.pattern)
_FIRST_PERSON_RE = re.compile(r"(?:^|[\s,;:])(?:we|our|us|i|my)\b(?!\.)", re.IGNORECASE)
_PRESS_RELEASE_RE = re.compile(
    r"press release|news release|for immediate release|statement (?:was )?released by|^from the [^\n:]{3,80}:"
    r"|^a statement (?:by|from)|^statement (?:by|from|of)",
    re.IGNORECASE | re.MULTILINE,
)
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
    # Per sentence, its lower-cased words ("287(g)" as "287g"), and those outside quotes.
    words_by_sentence: list[list[str]]
    own_words_by_sentence: list[list[str]]
    _starts: list[int] = field(default_factory=list)
    _quote_starts: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._starts = [s.start for s in self.sentences]
        self._quote_starts = [q[0] for q in self.quotes]

    @property
    def words(self) -> list[str]:
        """The text's words, in order."""
        return list(itertools.chain.from_iterable(self.words_by_sentence))

    @property
    def own_words(self) -> list[str]:
        """The text's words outside quotes, in order."""
        return list(itertools.chain.from_iterable(self.own_words_by_sentence))

    def sentence_words(self, index: int, *, own_voice: bool = False) -> list[str]:
        """The words of sentence ``index`` (with ``own_voice``: outside quotes)."""
        return (self.own_words_by_sentence if own_voice else self.words_by_sentence)[index]

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


def words(lower: str) -> list[str]:
    """The words of a lower-cased text ("287(g)" is one word, "287g")."""
    return _WORD_RE.findall(_one_word_287g(lower))


def _one_word_287g(lower: str) -> str:
    """``lower`` with "287(g)" written " 287g" padded with spaces to its own length (the offsets stay
    those of the text)."""
    return _287G_RE.sub(lambda m: " 287g".ljust(len(m.group())), lower) if "287" in lower else lower


def _paragraphs(text: str) -> Iterator[tuple[int, int]]:
    for match in _PARA_RE.finditer(text):
        if match.group().strip():
            yield match.start(), match.end()


def _split_sentences(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Sentences of the paragraph ``text[start:end]``: split after ".", "!", "?" or "…" followed by
    a capital or a digit, except after an abbreviation ("Gov.", "U.S.", a lone initial)."""
    pieces: list[tuple[int, int]] = []
    cursor = start
    for match in _SENT_SPLIT_RE.finditer(text, start, end):
        stop = match.start() + 1  # just after the sentence's final mark
        if _ABBREV_END_RE.search(text, max(cursor, stop - _ABBREV_MAX_CHARS), stop):
            continue
        pieces.append((cursor, stop))
        cursor = match.end()
    pieces.append((cursor, end))
    return [(a, b) for a, b in pieces if text[a:b].strip()]


# Every branch starts with its quote mark, so the scan skips to the next quote mark (a ‘ opens a quote
# only when no word character precedes it: checked just after it, "‘(?<!\w‘)", which is the same as
# "(?<!\w)‘" but does not make the regex engine try the branch at every position).
_QUOTE_RE = re.compile(
    r"“[^”\n]*(?:”|$)|\"[^\"\n]*(?:\"|$)|‘(?<!\w‘)[^’\n]{0,120}?’(?![A-Za-z])", re.MULTILINE
)


def _reporting_sentences(masked_lower: str, spans: list[tuple[int, int]]) -> set[int]:
    """Indexes of the sentences (``spans``, in order) whose words outside quotes report what someone
    else says or thinks (``_ATTRIBUTION_RE`` searched in the sentence alone), from one scan of the
    whole text. A match that runs past its sentence's end (none does: no attribution word holds a
    sentence's final mark) is decided by searching that sentence alone."""
    starts = [start for start, _end in spans]
    found: set[int] = set()
    for start, end, _branch in _ATTRIBUTION.matches(masked_lower):
        index = bisect.bisect_right(starts, start) - 1
        if index < 0 or index in found or start >= spans[index][1]:
            continue
        s_start, s_end = spans[index]
        if end <= s_end or _ATTRIBUTION_RE.search(masked_lower[s_start:s_end]):
            found.add(index)
    return found


def find_quotes(text: str) -> list[tuple[int, int]]:
    """Spans inside double quotes (curly or straight; an unclosed one runs to the paragraph end) and
    curly single quotes, sorted and disjoint."""
    return [m.span() for m in _QUOTE_RE.finditer(text)]


def _post_quote_spans(text: str, paras: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Embedded social posts: the paragraph just before a "— Name (@handle)" credit line."""
    spans = []
    for index, (start, end) in enumerate(paras):
        if index and _POST_CREDIT_RE.match(text[start:end]):
            prev_start = paras[index - 1][0]
            spans.append((prev_start, end))
    return spans


def _masked(lower: str, quotes: list[tuple[int, int]]) -> str:
    """``lower`` with its quoted spans (sorted, disjoint) blanked out, offsets kept."""
    pieces = []
    cursor = 0
    for q_start, q_end in quotes:
        pieces.append(lower[cursor:q_start])
        pieces.append(" " * (q_end - q_start))
        cursor = q_end
    pieces.append(lower[cursor:])
    return "".join(pieces)


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
    press_release = bool(_PRESS_RELEASE_RE.search(full[:600]) or _PRESS_RELEASE_URL_RE.search(url.lower()))
    lower = full.lower()
    masked_lower = _masked(lower, quotes)
    word_text, own_word_text = _one_word_287g(lower), _one_word_287g(masked_lower)
    sentences: list[Sentence] = []
    words_by_sentence: list[list[str]] = []
    own_words_by_sentence: list[list[str]] = []
    spans = [(p_index, span) for p_index, para in enumerate(paras) for span in _split_sentences(full, *para)]
    # Who speaks is judged on the sentence's own words, outside its quotes.
    reporting = _reporting_sentences(masked_lower, [span for _p_index, span in spans])
    for index, (p_index, (s_start, s_end)) in enumerate(spans):
        raw = full[s_start:s_end]
        is_headline = s_start < headline_end
        attributed = index in reporting and not (
            press_release and _FIRST_PERSON_RE.search(masked_lower[s_start:s_end])
        )
        if is_headline:
            voice = VOICE_HEADLINE * (0.5 if attributed else 1.0)
        elif attributed:
            voice = VOICE_ATTRIBUTED
        elif raw.rstrip('"”’) ').endswith("?"):
            voice = VOICE_QUESTION
        else:
            voice = VOICE_OWN
        # Every word lies inside a sentence: sentences are cut where words are not.
        sentence_words = _WORD_RE.findall(word_text, s_start, s_end)
        words_by_sentence.append(sentence_words)
        # A sentence with no quoted speech has the same words outside quotes (the same list).
        own_slice_same = own_word_text[s_start:s_end] == word_text[s_start:s_end]
        own_words_by_sentence.append(
            sentence_words if own_slice_same else _WORD_RE.findall(own_word_text, s_start, s_end)
        )
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
        words_by_sentence.append([])
        own_words_by_sentence.append([])
    return Document(
        text=full,
        lower=lower,
        masked_lower=masked_lower,
        headline=headline,
        headline_end=headline_end,
        url_words=url_words(url),
        sentences=sentences,
        quotes=quotes,
        press_release=press_release,
        words_by_sentence=words_by_sentence,
        own_words_by_sentence=own_words_by_sentence,
    )
