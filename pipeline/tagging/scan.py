"""Fast scans over an item's text: regex matches found from the literals they must start with.

A regex with a leading ``\\b`` (or no literal prefix) is tried at every position of a 5-10 KB text
by Python's engine; ``str.find`` for the few literals a match must begin with skips to the only
positions where it can match, in C, and the regex is then tried there alone. Same matches, in the
same order, as ``re.finditer`` of the original pattern.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator


def at_word_start(text: str, start: int) -> bool:
    """What a leading ``\\b`` says before a word character: no word character just before ``start``."""
    return start == 0 or not (text[start - 1].isalnum() or text[start - 1] == "_")


def literal_positions(text: str, literals: Iterable[str]) -> list[int]:
    """Every offset where one of ``literals`` starts (overlapping occurrences included), sorted."""
    found: set[int] = set()
    find = text.find
    for literal in literals:
        at = find(literal)
        while at >= 0:
            found.add(at)
            at = find(literal, at + 1)
    return sorted(found)


class StartScan:
    """``re.finditer(r"\\b" + core, text)`` for a ``core`` whose every match starts with one of
    ``starts`` (literal prefixes beginning with a word character).

    ``core`` must not look behind its start (the text before a candidate is checked here instead).
    """

    def __init__(self, core: str, starts: tuple[str, ...], *, boundary: bool = True, flags: int = 0) -> None:
        self.regex = re.compile(core, flags)
        self.starts = starts
        self.boundary = boundary

    def finditer(self, text: str) -> Iterator[re.Match[str]]:
        # finditer resumes after each match: a candidate inside an earlier match is skipped.
        resume = 0
        match_at = self.regex.match
        for start in literal_positions(text, self.starts):
            if start < resume or (self.boundary and not at_word_start(text, start)):
                continue
            match = match_at(text, start)
            if match is not None:
                resume = match.end()
                yield match
