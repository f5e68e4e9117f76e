"""Fast scans over an item's text: regex matches found from the literals they must start with.

A regex with a leading ``\\b`` (or no literal prefix) is tried at every position of a 5-10 KB text
by Python's engine; ``str.find`` for the few literals a match must begin with skips to the only
positions where it can match, in C, and the regex is then tried there alone. Same matches, in the
same order, as ``re.finditer`` of the original pattern.
"""

from __future__ import annotations

import bisect
import operator
import re
from collections.abc import Iterable, Iterator
from functools import lru_cache
from itertools import accumulate

from pipeline.rules.words import at_word_start
from pipeline.tagging import literals
from pipeline.tagging.regex_parts import literal_prefix, split_alternatives


def literal_positions(text: str, literals: Iterable[str]) -> list[int]:
    """Every offset where one of ``literals`` starts (overlapping occurrences included), sorted."""
    found: list[int] = []
    for literal in literals:
        if _overlaps_itself(literal):
            at = text.find(literal)
            while at >= 0:
                found.append(at)
                at = text.find(literal, at + 1)
            continue
        # No two occurrences overlap: the pieces between them give every offset, computed in C.
        pieces = text.split(literal)
        if len(pieces) > 1:
            step = len(literal)
            ends = accumulate(map(len, pieces[:-1]))
            found.extend(map(operator.add, ends, range(0, step * (len(pieces) - 1), step)))
    return sorted(set(found))


@lru_cache(maxsize=4096)
def _overlaps_itself(literal: str) -> bool:
    """Whether two occurrences of ``literal`` can overlap ("aa" in "aaa"): it ends as it begins."""
    return any(literal[:size] == literal[-size:] for size in range(1, len(literal)))


def alternation_scan(alternatives: str, *, indexed: bool = False) -> StartScan:
    """``StartScan`` of ``\b(?:alternatives)\b``, each alternative starting with a plain word."""
    starts = tuple(dict.fromkeys(literal_prefix(branch) for branch in split_alternatives(alternatives)))
    return StartScan(rf"(?:{alternatives})\b", starts, indexed=indexed)


class StartScan:
    """``re.finditer(r"\\b" + core, text)`` for a ``core`` whose every match starts with one of
    ``starts`` (literal prefixes beginning with a word character).

    ``core`` must not look behind its start (the text before a candidate is checked here instead).
    ``boundary=False`` drops the ``\b``. ``indexed=True`` registers the starts with ``literals``
    and looks only for those ``literals.present`` reports (for texts other patterns scan too).
    """

    def __init__(
        self,
        core: str,
        starts: tuple[str, ...],
        *,
        boundary: bool = True,
        indexed: bool = False,
        flags: int = 0,
    ) -> None:
        if not starts or not all(starts):
            raise ValueError(f"every match of {core!r} must start with one of some literals")
        self.regex = re.compile(core, flags)
        self.starts = starts
        self.boundary = boundary
        self.indexed = indexed
        if indexed:
            literals.register(starts)

    def finditer(self, text: str, probe: str | None = None) -> Iterator[re.Match[str]]:
        """Matches in ``text``; the starts are looked for in ``probe`` when given (``text`` lower-cased
        for a case-blind regex: see ``caseless_probe_ok``)."""
        probe = text if probe is None else probe
        starts: Iterable[str] = self.starts
        if self.indexed:
            found = literals.present(probe)
            starts = [start for start in self.starts if start in found]
        positions = literal_positions(probe, starts)
        if not self.boundary:
            return matches_at(self.regex, text, positions)
        return matches_at(self.regex, text, [at for at in positions if at_word_start(text, at)])


def matches_at(regex: re.Pattern[str], text: str, positions: list[int]) -> Iterator[re.Match[str]]:
    """``regex.finditer(text)`` when every match starts at one of ``positions`` (sorted): the regex
    is tried there alone, and a position inside an earlier match is skipped as finditer would."""
    resume = 0
    match_at = regex.match
    for start in positions:
        if start < resume:
            continue
        match = match_at(text, start)
        if match is not None:
            resume = match.end()
            yield match


def finditer_from(regex: re.Pattern[str], text: str, starts: tuple[str, ...]) -> Iterator[re.Match[str]]:
    """``regex.finditer(text)``, tried only where one of ``starts`` occurs when every match begins
    with one of them. Starts that ``literals`` knows are absent from
    ``text`` are not looked for."""
    if len(starts) < 2:
        # No start words, or one: the regex engine's own scan for a literal prefix is as fast.
        return regex.finditer(text)
    found = literals.cached(text)
    if found is not None:
        starts = tuple(start for start in starts if start in found)
    return matches_at(regex, text, literal_positions(text, starts))


# The only characters besides ASCII letters that a case-blind regex takes for an ASCII letter
# (İ ı ſ K); İ is also the only one that lower-cases to two characters.
_CASELESS_ODD_RE = re.compile("[\u0130\u0131\u017f\u212a]")


def caseless_probe_ok(text: str, lower: str) -> bool:
    """Whether ``lower`` (``text.lower()``) shows, at the same offsets, every place where a case-blind
    regex can match a lower-case ASCII word in ``text``."""
    return len(text) == len(lower) and not _CASELESS_ODD_RE.search(text)


def sentence_hits(bounds: list[tuple[int, int]], spans: Iterable[tuple[int, int]]) -> list[bool | None]:
    """Per sentence ``(start, end)`` (sorted, disjoint): True when one of the match ``spans`` found in
    the whole text lies inside it, None when one crosses its start or end (search that sentence
    alone), else False.

    Sound for a regex whose matches never depend on what follows them beyond a ``\b``, over a text
    where every sentence is followed and preceded by a non-word character (``text.analyse``).
    """
    hits: list[bool | None] = [False] * len(bounds)
    starts = [start for start, _end in bounds]
    for a, b in spans:
        index = bisect.bisect_right(starts, a) - 1
        if index >= 0 and b <= bounds[index][1] and a < bounds[index][1]:
            if hits[index] is False:
                hits[index] = True
            continue
        # Crossing a sentence end: every sentence it touches is decided alone.
        first = max(index, 0)
        last = bisect.bisect_left(starts, b)
        for touched in range(first, last):
            if bounds[touched][1] > a:
                hits[touched] = None
    return hits
