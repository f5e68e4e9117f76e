"""The texts a watchlist rule is matched against, as words (see ``pipeline.rules.language`` for the syntax).

Words follow Unicode word boundaries: runs of word characters joined by the mid-word characters
that Unicode segmentation keeps inside a word ("don't", "U.S"), a possessive ``'s`` ignored.
Separate texts (title, summary, body) are ``TEXT_GAP`` words apart, so no phrase or NEAR/n
crosses from one to the next.

Two views answer the same two questions (where does a sequence of words occur, how many words lie
between two places) with the same answers:

- ``WordList`` splits every text into words: spans are word positions. It is the reference.
- ``LazyWords`` splits nothing up front: it looks for a phrase's first word with ``str.find`` in
  the lower-cased text, checks that a word starts there, reads the following words from there, and
  counts words only between two nearby matches. Spans are character offsets (each text shifted by
  ``TEXT_GAP`` characters past the previous one). A rule re-matched on a 6 KB article asks about a
  handful of words; splitting the article into ~1,000 words first cost ten times as much.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

# Word-ish runs joined by the mid-word characters Unicode segmentation keeps inside a word
# ("don't", "U.S", "e.g"); everything else separates words.
WORD_RE = re.compile(r"\w+(?:['’.]\w+)*")
_POSSESSIVE_ENDINGS = ("'s", "'S", "’s", "’S")
_JOINERS = "'’."
# Positions (or characters) between separate texts: no phrase or NEAR/n crosses them.
TEXT_GAP = 1000

Span = tuple[int, int]  # [start, end): word positions (WordList) or character offsets (LazyWords)


def strip_possessive(word: str) -> str:
    """``word`` without a final ``'s`` (a word always keeps at least one character before it)."""
    return word[:-2] or word if word.endswith(_POSSESSIVE_ENDINGS) else word


def split_words(text: str, *, keep_possessive: bool = False) -> list[str]:
    words = WORD_RE.findall(text)
    if keep_possessive:
        return words
    return [strip_possessive(w) for w in words]


def is_cased(word: str) -> bool:
    """A word written in capitals (at least one letter, none lowercase) matches case-sensitively."""
    return word != word.lower() and word == word.upper()


class RuleText(Protocol):
    def phrase_spans(self, words: Sequence[str]) -> list[Span]:
        """Where ``words`` occur one after the other (capitalised ones in capitals)."""
        ...

    def within(self, end: int, start: int, distance: int) -> bool:
        """Whether at most ``distance`` words lie between a span ending at ``end`` and a later one
        starting at ``start`` (always when the second starts before the first ends)."""
        ...


@dataclass(frozen=True)
class WordList:
    """Texts split into words once, with a lowercase position index shared by all rules."""

    words: list[str]
    lowered: list[str]
    index: dict[str, list[int]]

    @classmethod
    def of(cls, texts: Sequence[str]) -> WordList:
        words: list[str] = []
        for text in texts:
            if words:
                words.extend([""] * TEXT_GAP)
            words.extend(split_words(text or ""))
        lowered = [w.lower() for w in words]
        index: dict[str, list[int]] = {}
        for position, word in enumerate(lowered):
            if word:
                index.setdefault(word, []).append(position)
        return cls(words, lowered, index)

    def phrase_spans(self, words: Sequence[str]) -> list[Span]:
        found = []
        for start in self.index.get(words[0].lower(), ()):
            end = start + len(words)
            if end > len(self.words):
                continue
            if all(
                (self.words[start + k] == w) if is_cased(w) else (self.lowered[start + k] == w.lower())
                for k, w in enumerate(words)
            ):
                found.append((start, end))
        return found

    def within(self, end: int, start: int, distance: int) -> bool:
        return start - end <= distance


def _is_word_char(char: str) -> bool:
    # What ``\w`` matches in a str pattern: alphanumeric (Unicode) or the underscore.
    return char.isalnum() or char == "_"


def at_word_start(text: str, at: int) -> bool:
    """What a leading ``\\b`` says before a word character at ``at``: no word character just before it.

    The one word-start check: rule matching here and the tagging scans (``pipeline.tagging``) use it.
    """
    return at == 0 or not _is_word_char(text[at - 1])


def _word_starts_at(text: str, at: int) -> bool:
    """Whether a word of ``WORD_RE.findall(text)`` begins at ``at`` (a word character there)."""
    if not at_word_start(text, at):
        return False
    # "U.S": a joiner between word characters continues the word before it.
    return not (at >= 2 and text[at - 1] in _JOINERS and _is_word_char(text[at - 2]))


@dataclass
class LazyWords:
    """The same words as ``WordList`` without splitting the texts (see the module docstring)."""

    texts: list[str]
    lowered: list[str]
    bases: list[int]
    _cache: dict[tuple[str, ...], list[Span]] = field(default_factory=dict)

    @classmethod
    def of(cls, texts: Sequence[str]) -> RuleText:
        """A ``LazyWords`` view, or the ``WordList`` when lower-casing a text would move offsets
        ("İ" becomes two characters) or depend on context (a final "Σ")."""
        plain = [text or "" for text in texts]
        lowered = [text.lower() for text in plain]
        if any(len(low) != len(text) or "Σ" in text for text, low in zip(plain, lowered, strict=True)):
            return WordList.of(plain)
        bases = []
        base = 0
        for text in plain:
            bases.append(base)
            base += len(text) + TEXT_GAP
        return cls(plain, lowered, bases)

    def phrase_spans(self, words: Sequence[str]) -> list[Span]:
        key = tuple(words)
        found = self._cache.get(key)
        if found is None:
            found = self._cache[key] = [
                span for index in range(len(self.texts)) for span in self._spans_in(index, key)
            ]
        return found

    def _spans_in(self, index: int, words: tuple[str, ...]) -> list[Span]:
        text, lower, base = self.texts[index], self.lowered[index], self.bases[index]
        first = words[0].lower()
        found = []
        at = lower.find(first)
        while at >= 0:
            if _word_starts_at(text, at):
                end = self._follows(text, at, words)
                if end >= 0:
                    found.append((base + at, base + end))
            at = lower.find(first, at + 1)
        return found

    @staticmethod
    def _follows(text: str, at: int, words: tuple[str, ...]) -> int:
        """End of ``words`` read as the words of ``text`` from offset ``at`` (a word start), or -1."""
        end = at
        for k, expected in enumerate(words):
            match = WORD_RE.match(text, at) if k == 0 else WORD_RE.search(text, end)
            if match is None:
                return -1
            word = strip_possessive(match.group())
            if (word != expected) if is_cased(expected) else (word.lower() != expected.lower()):
                return -1
            end = match.end()
        return end

    def _text_of(self, offset: int) -> int:
        index = 0
        while index + 1 < len(self.bases) and self.bases[index + 1] <= offset:
            index += 1
        return index

    def within(self, end: int, start: int, distance: int) -> bool:
        if start < end:
            return True
        index = self._text_of(end)
        if index != self._text_of(start):
            return False
        base = self.bases[index]
        # Both offsets sit on word boundaries, so the words in between are found alone.
        between = WORD_RE.finditer(self.texts[index], end - base, start - base)
        return all(count <= distance for count, _ in enumerate(between, 1))
