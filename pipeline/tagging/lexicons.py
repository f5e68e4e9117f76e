"""Lexicon matching over lower-cased text: regex alternations (``WordPattern``) and weighted phrases
(``PhraseMatcher``), each branch found where its literal prefix occurs, many lexicons in one pass
(``Lexicons``). The stance lexicons' words are in ``framing``; the other rules keep theirs beside them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

import ahocorasick

from pipeline.rules.words import at_word_start

# How lexicons are matched: every top-level branch of a pattern starts with a literal ("terminat" in
# "terminat\w+", "illegal alien" in "illegal aliens?"), found by ``required_prefixes``. One pass of an
# Aho-Corasick automaton (pyahocorasick) over the text finds every place where any branch's literal
# occurs, for many lexicons at once (``Lexicons``: a tagged item's text is read once for all of its
# rules); the branch's regex is then tried there only, anchored, when a word starts there (what its
# leading "\b" asks) and none of its "(?<!not )" lookbehinds is just before it. A regex led by "\b"
# (or an alternation of such branches) would otherwise be tried at every position of the text.


def split_alternatives(pattern: str) -> list[str]:
    """Top-level ``|`` branches of a regex (groups, classes and escapes respected)."""
    parts: list[str] = []
    depth, in_class, start, i = 0, False, 0, 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            i += 2
            continue
        if in_class:
            in_class = ch != "]"
        elif ch == "[":
            in_class = True
        elif ch in "()":
            depth += 1 if ch == "(" else -1
        elif ch == "|" and depth == 0:
            parts.append(pattern[start:i])
            start = i + 1
        i += 1
    parts.append(pattern[start:])
    return parts


_LEADING_LOOKBEHIND_RE = re.compile(r"\(\?<!([^()\\]*)\)")


_QUANTIFIERS = ("?", "*", "{")
_REGEX_SYNTAX = frozenset(".^$*+?{}[]\\|()")


def _group_end(pattern: str, start: int) -> int:
    """Index of the ")" closing the group opened at ``pattern[start]`` (escapes and classes respected)."""
    depth, in_class, i = 0, False, start
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            i += 2
            continue
        if in_class:
            in_class = ch != "]"
        elif ch == "[":
            in_class = True
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return len(pattern)


def required_prefixes(pattern: str) -> tuple[str, ...]:
    """Literals one of which starts every match of ``pattern`` (empty when that cannot be told).

    Per top-level alternative: its plain characters up to the first regex syntax (a character made
    optional by "?", "*" or "{" is dropped). A "(?:...)" group there that occurs once is read on: when
    each of its alternatives is plain text the literals go on through it and what follows ("(?:to|for)
    ICE" starts with "to ICE" or "for ICE": the automaton then stops where those occur, not at every
    "to" and "for"); otherwise a leading group's own literals are the pattern's.
    """
    alternatives = split_alternatives(pattern)
    if len(alternatives) > 1:
        found = [required_prefixes(alternative) for alternative in alternatives]
        return () if not all(found) else tuple(p for prefixes in found for p in prefixes)
    plain = 0
    while plain < len(pattern) and pattern[plain] not in _REGEX_SYNTAX:
        plain += 1
    head, rest = pattern[:plain], pattern[plain:]
    if rest[:1] in _QUANTIFIERS:
        return (head[:-1],) if head[:-1] else ()
    if rest.startswith("(?:"):
        end = _group_end(rest, 0)
        after = rest[end + 1 :]
        inner = split_alternatives(rest[3:end])
        if after[:1] not in (*_QUANTIFIERS, "+") and all(_is_plain(a) for a in inner):
            tails = required_prefixes(after) or ("",)
            return tuple(head + a + tail for a in inner for tail in tails)
        if not head and after[:1] not in _QUANTIFIERS:
            return required_prefixes(rest[3:end])
    return (head,) if head else ()


def _is_plain(text: str) -> bool:
    return bool(text) and not any(ch in _REGEX_SYNTAX for ch in text)


def word_start_matches(core: re.Pattern[str], text: str) -> Iterator[re.Match[str]]:
    """The matches of ``\\b`` + ``core`` over ``text`` (what ``re.finditer`` gives), for a ``core`` whose
    matches start with a word character and are never empty. ``core`` is searched alone (it has
    letters to skip to; a pattern led by ``\\b`` has none and is tried at every position), and a
    match that does not start a word is retried from the next character."""
    position = 0
    while (match := core.search(text, position)) is not None:
        if at_word_start(text, match.start()):
            yield match
            position = match.end()
        else:
            position = match.start() + 1


# One branch of a lexicon: its regex without the leading "\b" and lookbehinds, whether a word must
# start at the match, and the literals that must not precede it.
Branch = tuple[re.Pattern[str], bool, tuple[str, ...]]
# A branch's match: start, end, branch number.
Match = tuple[int, int, int]


class Lexicon:
    """Regex branches over lower-cased text, each found where its literal prefix occurs."""

    def __init__(self, branches: list[Branch], literals: list[tuple[str, ...]]) -> None:
        self.branches = branches
        self.literals = literals
        self._automaton = _literal_automaton([self])

    def matches(self, text: str) -> list[Match]:
        """Every branch's match at every start its literal allows (overlapping ones included)."""
        return _find(self._automaton, [self], text)[0]


def _literal_automaton(lexicons: Sequence[Lexicon]) -> ahocorasick.Automaton:
    """One automaton over the lexicons' literals; a literal's value is ((length - 1, lexicon number,
    branch number, branch), ...). A literal that extends another of its branch's ("ended" beside
    "end") is left out: where it occurs the shorter one does too, and a branch is tried once per start."""
    by_literal: dict[str, list[tuple[int, int, int, Branch]]] = {}
    for which, lexicon in enumerate(lexicons):
        for number, literals in enumerate(lexicon.literals):
            if not literals:
                raise ValueError(
                    f"lexicon branch {lexicon.branches[number][0].pattern!r} starts with no literal"
                )
            for literal in set(literals):
                if not any(literal != other and literal.startswith(other) for other in literals):
                    entry = (len(literal) - 1, which, number, lexicon.branches[number])
                    by_literal.setdefault(literal, []).append(entry)
    automaton = ahocorasick.Automaton()
    for literal, entries in sorted(by_literal.items()):
        automaton.add_word(literal, tuple(entries))
    automaton.make_automaton()
    return automaton


def _find(automaton: ahocorasick.Automaton, lexicons: Sequence[Lexicon], text: str) -> list[list[Match]]:
    """Per lexicon, the matches of its branches in ``text`` (one pass of ``automaton`` for all)."""
    found: list[list[Match]] = [[] for _ in lexicons]
    for end, entries in automaton.iter(text):
        for back, which, number, (regex, boundary, negatives) in entries:
            start = end - back
            if boundary and start > 0 and (text[start - 1].isalnum() or text[start - 1] == "_"):
                continue  # a word character before it: no word starts here (see ``at_word_start``)
            if negatives and any(text[max(0, start - len(n)) : start] == n for n in negatives):
                continue
            match = regex.match(text, start)
            if match is not None:
                found[which].append((start, match.end(), number))
    return found


def merged_spans(matches: list[Match]) -> list[tuple[int, int]]:
    """Non-overlapping spans, leftmost (and longest among equal starts) first, sorted."""
    out: list[tuple[int, int]] = []
    for start, neg_end in sorted((start, -end) for start, end, _number in matches):
        if not out or start >= out[-1][1]:
            out.append((start, -neg_end))
    return out


class WordPattern(Lexicon):
    """A regex alternation over lower-cased text (a leading "\\b" and "(?<!...)" lookbehinds allowed
    on each branch)."""

    def __init__(self, pattern: str) -> None:
        branches: list[Branch] = []
        literals = []
        for branch in split_alternatives(pattern):
            boundary = branch.startswith("\\b")
            core = branch[2:] if boundary else branch
            negatives: list[str] = []
            while (lookbehind := _LEADING_LOOKBEHIND_RE.match(core)) is not None:
                negatives.append(lookbehind.group(1))
                core = core[lookbehind.end() :]
            literals.append(required_prefixes(core))
            branches.append((re.compile(core), boundary, tuple(negatives)))
        super().__init__(branches, literals)

    def spans(self, text: str) -> list[tuple[int, int]]:
        """Non-overlapping match spans, leftmost (and longest among equal starts) first, sorted."""
        return merged_spans(self.matches(text))

    def count(self, text: str) -> int:
        return len(self.spans(text))

    def search(self, text: str) -> int | None:
        """Start of the first match, or None."""
        found = self.spans(text)
        return found[0][0] if found else None


class PhraseMatcher(Lexicon):
    """Weighted phrases matched on lower-cased text, each starting and ending at a word boundary."""

    def __init__(self, phrases: tuple[tuple[str, float], ...]) -> None:
        self.weights = [weight for _pattern, weight in phrases]
        super().__init__(
            [(re.compile(rf"(?:{pattern})(?!\w)"), True, ()) for pattern, _weight in phrases],
            [required_prefixes(pattern) for pattern, _weight in phrases],
        )

    def weighted(self, matches: list[Match]) -> list[tuple[int, int, float]]:
        """(start, end, weight) of each match, sorted by start."""
        return sorted((start, end, self.weights[number]) for start, end, number in matches)

    def finditer(self, text: str) -> list[tuple[int, int, float]]:
        """(start, end, weight) of every phrase occurrence, sorted by start."""
        return self.weighted(self.matches(text))


class Lexicons:
    """Several lexicons matched over a text in one pass (``scan``)."""

    def __init__(self, members: Sequence[Lexicon]) -> None:
        self.members = list(members)
        self._number = {id(member): which for which, member in enumerate(self.members)}
        self._automaton = _literal_automaton(self.members)

    def scan(self, text: str) -> TextMatches:
        return TextMatches(self, _find(self._automaton, self.members, text))

    def number(self, lexicon: Lexicon) -> int:
        try:
            return self._number[id(lexicon)]
        except KeyError:
            raise ValueError("lexicon not in this set: add it to the Lexicons that scan the text") from None


class TextMatches:
    """What every lexicon of a ``Lexicons`` set found in one text."""

    def __init__(self, lexicons: Lexicons, found: list[list[Match]]) -> None:
        self._lexicons = lexicons
        self._found = found

    def spans(self, pattern: WordPattern) -> list[tuple[int, int]]:
        return merged_spans(self._found[self._lexicons.number(pattern)])

    def count(self, pattern: WordPattern) -> int:
        return len(self.spans(pattern))

    def search(self, pattern: WordPattern) -> int | None:
        found = self.spans(pattern)
        return found[0][0] if found else None

    def phrases(self, matcher: PhraseMatcher) -> list[tuple[int, int, float]]:
        return matcher.weighted(self._found[self._lexicons.number(matcher)])


def words_pattern(alternatives: str) -> WordPattern:
    """Any of ``alternatives`` (a ``|`` list) as whole words."""
    return WordPattern("|".join(rf"\b(?:{word})\b" for word in split_alternatives(alternatives)))
