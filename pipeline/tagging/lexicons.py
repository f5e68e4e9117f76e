"""Framing lexicons for stance: phrases whose use in the item's own voice takes a side.

``anti`` = favours limiting or ending local cooperation with federal immigration enforcement;
``pro`` = favours cooperation or criticises limiting it. Weights: 2 = unmistakable framing,
1 = clear lean, 0.5 = mild lean that only counts in numbers. Patterns are regex fragments matched on
lower-cased text at word boundaries. The evaluative word lists (NEGATIVE/POSITIVE) are direction-free:
their side depends on what the sentence talks about (cooperation vs limiting it), see ``stance.py``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator

from pipeline.rules.words import at_word_start

ANTI_PHRASES: tuple[tuple[str, float], ...] = (
    (r"victory for (?:immigrant|the immigrant|our communit|immigrants|families)", 2.0),
    (r"immigrant rights?", 1.0),
    (r"stand\w* (?:up )?(?:for|with) (?:immigrants|immigrant families|our immigrant|refugees)", 1.5),
    (r"rights of (?:all )?immigrants", 1.0),
    (r"tear(?:s|ing)? (?:\w+ )?families apart", 2.0),
    (r"deportation (?:machine|pipeline|dragnet)", 2.0),
    (r"mass deportation", 1.0),
    (r"racial(?:ly)? profil\w+", 1.5),
    (r"civil and human rights", 1.5),
    (r"human rights abuses?", 2.0),
    (r"fear[- ]?mongering", 2.0),
    (r"family separations?", 1.0),
    (r"fourth amendment", 1.0),
    (r"unreasonable seizures?", 1.5),
    (r"violat\w+ (?:the )?(?:u\.s\. )?constitution", 1.5),
    (r"due process", 0.5),
    (r"unlawful (?:agreement|detention|program)", 1.5),
    (r"collud\w+", 1.5),
    (r"anti-immigrant", 1.5),
    (r"xenophob\w+", 2.0),
    (r"courageous", 1.5),
    (r"justice and equity", 1.5),
    (r"social justice", 1.0),
    (r"community trust", 1.0),
    (r"trust (?:between|with) (?:law enforcement|police|the police|local police)", 1.0),
    (r"(?:strengthen|build|rebuild|restore|foster)\w* (?:\w+ )?trust", 1.0),
    (r"inclusiv\w+", 1.0),
    (r"welcoming (?:city|county|community|ordinance|policy)", 1.0),
    (r"compassionate", 1.0),
    (r"humane", 1.0),
    (r"dignity", 1.0),
    (r"without (?:the )?(?:constant )?fear of (?:being )?deport\w+", 1.0),
    (r"fear of deportation", 1.0),
    (r"abuses", 1.5),
    (r"mismanaged", 1.5),
    (r"controversial (?:287|program|agreement|contract|partnership)", 0.5),
    (r"good first step", 1.5),
    (r"step (?:in the right direction|toward (?:justice|inclusiv))", 1.5),
    (
        r"(?:harmful|aggressive|cruel|draconian|inhumane) (?:\w+ )?(?:immigration|enforcement|deportation)",
        1.5,
    ),
    (r"immigrant (?:neighbors|families)", 0.5),
    (r"otherwise law-abiding", 0.5),
    (r"give in(?:to)? (?:the )?fear|giving in(?:to)? (?:the )?fear", 1.5),
    (
        r"(?:end|ending|stop|abolish)(?:ing)? (?:the )?(?:287\(g\)|ice) (?:program|agreement"
        r"|contract|partnership)s?"
        r" (?:now|immediately)",
        1.5,
    ),
)

PRO_PHRASES: tuple[tuple[str, float], ...] = (
    (r"criminal illegal aliens?", 2.0),
    (r"illegal aliens?", 2.0),
    (r"criminal aliens?", 2.0),
    (r"illegals\b", 2.0),
    (r"illegal immigrants?", 1.0),
    (r"sanctuary (?:polic\w+|cities|city|laws?|jurisdictions?) (?:\w+ )?endanger\w*", 2.0),
    (r"endanger\w* (?:public|our|the) (?:safety|communit\w+)", 1.0),
    (r"public safety (?:risk|threat|crisis)", 1.5),
    (r"releas\w+ (?:\w+ )?(?:criminals|dangerous|violent|sex offenders|predators)", 1.5),
    (r"released back into", 1.5),
    (r"intentionally released", 1.5),
    (r"rule of law", 1.5),
    (r"rules of law", 1.0),
    (r"angel (?:families|moms|mothers|parents|dads)", 2.0),
    (r"risky gamble", 1.5),
    (r"risky defiance", 1.0),
    (r"defian\w+ of (?:federal |the )?law", 1.5),
    (r"blatant defiance", 2.0),
    (r"defies|defying federal|defy federal", 1.5),
    (r"shield\w* (?:illegal|criminal|dangerous)", 2.0),
    (r"harbor\w* (?:illegal|criminal)", 2.0),
    (r"embolden\w* (?:criminal|illegal)", 2.0),
    (r"obey (?:federal|the) law", 1.5),
    (r"follow the (?:rule of )?law", 1.0),
    (r"lawless", 1.5),
    (r"submits? to pressure|bow\w* to pressure|caves? to|caved to", 2.0),
    (r"support (?:our|the) sheriff", 2.0),
    (r"(?:keep|keeping) \w+(?: \w+)? safe from (?:illegal|criminal)", 2.0),
    (r"(?:predators|violent criminals|sex offenders|gang members)", 0.5),
    (r"nullif\w+ federal law", 1.5),
    (r"political stunt", 1.5),
    (r"sanctuary (?:city|cities|county|counties|state) (?:crisis|madness|nonsense|scheme)", 2.0),
    (r"(?:impose|imposes|imposing|place|places|placing) (?:\w+ )?burdens? on", 1.0),
    (r"(?:improve|enhance|strengthen)\w* cooperation", 1.0),
    (r"threat to public safety", 0.5),
    (r"border (?:security|crisis|invasion)", 0.5),
    (r"invasion", 1.0),
    (r"safe haven for (?:illegal|criminal)", 1.5),
    (r"force multiplier", 0.5),
)

# Direction-free evaluation: its side depends on the sentence's target.
NEGATIVE_WORDS = (
    r"abus\w+|mismanag\w+|unlawful|unconstitutional|discriminat\w+|harmful|dangerous|reckless|lawless"
    r"|shameful|disgrace\w*|outrag\w+|troubling|disturbing|cruel|inhumane|mistrust|distrust|misuse"
    r"|wasteful|drain|failed|flawed|endanger\w*|jeopardiz\w*|undermin\w*|erod\w+|violat\w+|sadly"
    r"|unfortunately|blatant|defian\w+|defies|defy|stunt|irresponsible|misguided|maligned|fear|threat\w*"
    r"|negative\w*|damag\w+|unjust\w*|illegitimate"
)
POSITIVE_WORDS = (
    r"victory|proud|applaud\w*|commend\w*|courageous|brave|welcome\w*|grateful|thankful|celebrat\w+"
    r"|safer|commonsense|common-sense|successful|pleased|great to work with|good first step|inspir\w+"
    r"|right thing|step forward|model for|protect\w*"
)
# What the sentence talks about: keeping/expanding cooperation, or limiting/ending it.
COOPERATION_TARGETS = (
    r"287\s?\(?g\)?|cooperat\w+ with (?:federal |u\.s\. )?(?:immigration|ice)"
    r"|(?:agreement|contract|partnership) with (?:u\.s\. )?(?:immigration|ice|dhs|homeland)"
    r"|ice (?:agreement|contract|partnership|program)"
    r"|honor\w* (?:ice )?detainers|deputiz\w+|task force model|immigration holds?"
    r"|detain\w* (?:\w+ ){0,2}(?:immigrants|noncitizens|for ice|for immigration|on behalf of)"
)
LIMIT_TARGETS = (
    r"sanctuary|refus\w+ to (?:cooperate|work|honor|comply)|not (?:to )?(?:cooperate|honor|comply)"
    r"|no longer (?:cooperate|collaborate|hold|house|honor)|(?:end|ending|ended|terminat\w+|cut\w*|sever\w*)"
    r" (?:its |the |their )?(?:ties|contract|agreement|cooperation|participation)|ignor\w+ (?:\w+ )?detainers"
)
# Both sides laid out in the item's own structure: balanced reporting.
BALANCE_MARKERS = (
    r"on the other hand|on one hand|conversely|both sides|(?:has|have) been mixed|reactions? (?:\w+ )?mixed"
    r"|is divided|are divided|supporters (?:of \w+ )?(?:argue|say|believe|view|contend)"
    r"|critics (?:of \w+ )?(?:argue|say|contend|worry|express|warn)|opponents (?:argue|say|contend)"
    r"|proponents (?:argue|say)"
)


# Why patterns are compiled without their leading "\b": Python's regex engine finds a literal prefix
# ("illegal alien", "terminat") with a fast C search, but a pattern that opens with "\b" (or a
# lookbehind, or an alternation of such branches) is tried at every position of the text. Compiling
# each top-level branch alone without its leading "\b" and "(?<!not )" lookbehinds, and checking
# those on each match, makes the lexicon
# scans 4-8 times cheaper (tagging 46 → 200+ items/s on the benchmark texts); matches are the same
# except where a match starting inside a word would have hidden an overlapping one.


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

    Per top-level alternative: its plain characters up to the first regex syntax, looking into a
    leading "(?:...)" group (and its alternatives) unless the group is optional; a character made
    optional by "?", "*" or "{" is dropped.
    """
    alternatives = split_alternatives(pattern)
    if len(alternatives) > 1:
        found = [required_prefixes(alternative) for alternative in alternatives]
        return () if not all(found) else tuple(p for prefixes in found for p in prefixes)
    if pattern.startswith("(?:"):
        end = _group_end(pattern, 0)
        if pattern[end + 1 : end + 2] in _QUANTIFIERS:
            return ()
        return required_prefixes(pattern[3:end])
    literal: list[str] = []
    for ch in pattern:
        if ch in _REGEX_SYNTAX:
            if ch in _QUANTIFIERS and literal:
                literal.pop()
            break
        literal.append(ch)
    return ("".join(literal),) if literal else ()


def first_possible_start(text: str, prefixes: tuple[str, ...]) -> int:
    """Where the first match can start: the first occurrence of one of ``prefixes`` (0 when there
    are none to go by, -1 when none occurs — the regex need not run)."""
    if len(prefixes) == 1:  # most branches
        return text.find(prefixes[0])
    if not prefixes:
        return 0
    found = [index for index in map(text.find, prefixes) if index >= 0]
    return min(found) if found else -1


HEAD_CHARS = 3
MIN_BRANCHES_FOR_HEADS = 4
# Each word's first (up to) three characters: a match consumes its whole word, so every match
# starts a word.
_WORD_HEAD_RE = re.compile(rf"(\w{{1,{HEAD_CHARS}}})\w*")
_HEAD_RE = re.compile(rf"\w{{{HEAD_CHARS}}}")


@functools.lru_cache(maxsize=8)
def word_heads(text: str) -> frozenset[str]:
    """The first three characters of every word of ``text`` (read once per text: the lexicons of
    relevance, event and stance all scan the same few texts of an item)."""
    return frozenset(_WORD_HEAD_RE.findall(text))


def heads_of(prefixes: tuple[str, ...]) -> tuple[str, ...]:
    """The word heads a match at a word start must begin with (empty when a prefix is too short)."""
    heads = tuple(prefix[:HEAD_CHARS] for prefix in prefixes)
    return heads if heads and all(_HEAD_RE.fullmatch(head) for head in heads) else ()


# (regex, whether a word must start at the match, literals that must not precede it, literals one
# of which starts every match, and for word-start matches the heads of those literals). Most
# branches occur in no given text: a branch whose heads start no word of the text is not run, and
# otherwise the regex runs only from where one of its literals occurs (``str.find`` is a far faster
# search than the regex engine's).
Branch = tuple[re.Pattern[str], bool, tuple[str, ...], tuple[str, ...], tuple[str, ...]]


def _branch_start(branch: Branch, text: str, text_heads: frozenset[str]) -> int:
    """Where the branch's regex must start running (-1: it cannot match: none of its heads starts a
    word of the text, or none of its literals occurs)."""
    heads, prefixes = branch[4], branch[3]
    if heads and text_heads.isdisjoint(heads):
        return -1
    return first_possible_start(text, prefixes)


def _branch_matches(branch: Branch, text: str, begin: int) -> Iterator[tuple[int, int]]:
    """Spans of one branch's matches from ``begin`` that start a word (when required) after none of
    its negatives."""
    regex, boundary, negatives = branch[0], branch[1], branch[2]
    for match in regex.finditer(text, begin):
        start = match.start()
        if boundary and start and (text[start - 1].isalnum() or text[start - 1] == "_"):
            continue
        if negatives and any(text[max(0, start - len(n)) : start] == n for n in negatives):
            continue
        yield start, match.end()


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


class WordPattern:
    """A regex alternation over lower-cased text, each branch compiled alone (see above)."""

    def __init__(self, pattern: str, flags: int = 0) -> None:
        self.branches: list[Branch] = []
        alternatives = split_alternatives(pattern)
        # Reading a text's word heads costs about what a few ``str.find`` do: worth it for many branches.
        many = len(alternatives) >= MIN_BRANCHES_FOR_HEADS
        for branch in alternatives:
            boundary = branch.startswith("\\b")
            core = branch[2:] if boundary else branch
            negatives: list[str] = []
            while (lookbehind := _LEADING_LOOKBEHIND_RE.match(core)) is not None:
                negatives.append(lookbehind.group(1))
                core = core[lookbehind.end() :]
            prefixes = () if flags & re.IGNORECASE else required_prefixes(core)
            heads = heads_of(prefixes) if boundary and many else ()
            self.branches.append((re.compile(core, flags), boundary, tuple(negatives), prefixes, heads))
        self.uses_heads = any(branch[4] for branch in self.branches)

    def _text_heads(self, text: str) -> frozenset[str]:
        """The text's word heads, read once per scan (not once per branch)."""
        return word_heads(text) if self.uses_heads else frozenset()

    def spans(self, text: str) -> list[tuple[int, int]]:
        """Non-overlapping match spans, leftmost (and longest among equal starts) first, sorted."""
        text_heads = self._text_heads(text)
        found: list[tuple[int, int]] = []
        for branch in self.branches:
            begin = _branch_start(branch, text, text_heads)
            if begin >= 0:
                found.extend((start, -end) for start, end in _branch_matches(branch, text, begin))
        found.sort()
        out: list[tuple[int, int]] = []
        for start, neg_end in found:
            if not out or start >= out[-1][1]:
                out.append((start, -neg_end))
        return out

    def count(self, text: str) -> int:
        return len(self.spans(text))

    def search(self, text: str) -> int | None:
        """Start of the first match, or None (each branch stops at its first match)."""
        text_heads = self._text_heads(text)
        first: int | None = None
        for branch in self.branches:
            begin = _branch_start(branch, text, text_heads)
            if begin < 0:
                continue
            for start, _end in _branch_matches(branch, text, begin):
                if first is None or start < first:
                    first = start
                break
        return first


class PhraseMatcher:
    """Weighted phrases matched on lower-cased text, each starting and ending at a word boundary."""

    def __init__(self, phrases: tuple[tuple[str, float], ...]) -> None:
        # (regex, weight, literals one of which starts every match, their word heads: see ``Branch``)
        self.entries = [
            (re.compile(rf"(?:{pattern})(?!\w)"), weight, prefixes, heads_of(prefixes))
            for pattern, weight in phrases
            for prefixes in [required_prefixes(pattern)]
        ]

    def finditer(self, text: str) -> list[tuple[int, int, float]]:
        """(start, end, weight) of every phrase occurrence, sorted by start."""
        out: list[tuple[int, int, float]] = []
        text_heads = word_heads(text)
        for regex, weight, prefixes, heads in self.entries:
            if heads and text_heads.isdisjoint(heads):
                continue
            begin = first_possible_start(text, prefixes)
            if begin >= 0:
                out.extend(
                    (m.start(), m.end(), weight)
                    for m in regex.finditer(text, begin)
                    if at_word_start(text, m.start())
                )
        out.sort()
        return out


def words_pattern(alternatives: str) -> WordPattern:
    """Any of ``alternatives`` (a ``|`` list) as whole words."""
    return WordPattern("|".join(rf"\b(?:{word})\b" for word in split_alternatives(alternatives)))
