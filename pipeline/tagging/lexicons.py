"""Framing lexicons for stance: phrases whose use in the item's own voice takes a side.

``anti`` = favours limiting or ending local cooperation with federal immigration enforcement;
``pro`` = favours cooperation or criticises limiting it. Weights: 2 = unmistakable framing,
1 = clear lean, 0.5 = mild lean that only counts in numbers. Patterns are regex fragments matched on
lower-cased text at word boundaries. The evaluative word lists (NEGATIVE/POSITIVE) are direction-free:
their side depends on what the sentence talks about (cooperation vs limiting it), see ``stance.py``.
"""

from __future__ import annotations

import re

from pipeline.rules.words import at_word_start
from pipeline.tagging import literals
from pipeline.tagging.regex_parts import opening_words, required_literal, split_alternatives
from pipeline.tagging.scan import finditer_from

__all__ = ["MultiPattern", "PhraseMatcher", "required_literal", "split_alternatives"]

# Few gates are cheaper tested one by one than with a scan of a text nothing else scans.
MANY_GATES = 8
# Opening words shorter than this ("to", "of") occur too often to be worth trying one by one.
MIN_START = 3

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


class PhraseMatcher:
    """Weighted phrases matched on lower-cased text, each skipped unless its required literal occurs."""

    def __init__(self, phrases: tuple[tuple[str, float], ...]) -> None:
        # No leading \b in the compiled regex: it disables the engine's literal-prefix scan (15x slower);
        # the word boundary is checked on each match instead.
        # Each regex is tried only where one of the words its matches open with occurs.
        self.entries = [
            (_gates(pattern), opening_words(pattern, MIN_START), re.compile(rf"(?:{pattern})(?!\w)"), weight)
            for pattern, weight in phrases
        ]
        literals.register(word for gates, starts, _re, _w in self.entries for word in (*gates, *starts))

    def finditer(self, text: str) -> list[tuple[int, int, float]]:
        """(start, end, weight) of every phrase occurrence, sorted by start."""
        out: list[tuple[int, int, float]] = []
        found = literals.present(text)
        for gates, starts, regex, weight in self.entries:
            if gates and found.isdisjoint(gates):
                continue
            out.extend(
                (m.start(), m.end(), weight)
                for m in finditer_from(regex, text, starts)
                if at_word_start(text, m.start())
            )
        out.sort()
        return out


_LOOKBEHIND_RE = re.compile(r"^\(\?<!([^()\\]*)\)")


def _strip_leading(branch: str) -> tuple[str, bool, tuple[str, ...]]:
    """Split off a leading \\b and negative lookbehinds (checked in Python; see ``PhraseMatcher``)."""
    boundary = False
    negatives: list[str] = []
    while True:
        if branch.startswith("\\b"):
            boundary, branch = True, branch[2:]
            continue
        match = _LOOKBEHIND_RE.match(branch)
        if match:
            negatives.append(match.group(1))
            branch = branch[match.end() :]
            continue
        return branch, boundary, tuple(negatives)


_LEADING_GROUP_RE = re.compile(r"^(?:\\b|\(\?<![^)]*\))*\(\?:([A-Za-z' |-]+)\)")


def _gates(branch: str) -> tuple[str, ...]:
    """Literals of which at least one must occur for ``branch`` to match (empty: always scan)."""
    literal = required_literal(branch)
    if literal:
        return (literal,)
    lead = _LEADING_GROUP_RE.match(branch)
    if lead:
        options = tuple(o for o in lead.group(1).split("|") if o)
        if options and all(len(o) >= 3 for o in options):
            return options
    return opening_words(_strip_leading(branch)[0])


class MultiPattern:
    """A big alternation split into branches, each scanned only when its required literal occurs.

    Same matches as the alternation (leftmost per branch, merged), several times faster on long texts.
    """

    def __init__(self, pattern: str, flags: int = 0) -> None:
        self.ignore_case = bool(flags & re.IGNORECASE)
        self.entries: list[tuple[tuple[str, ...], re.Pattern[str], bool, tuple[str, ...]]] = []
        # A branch's regex is tried only where one of the words its matches open with occurs.
        self.starts: dict[re.Pattern[str], tuple[str, ...]] = {}
        for branch in split_alternatives(pattern):
            core, boundary, negatives = _strip_leading(branch)
            gates = _gates(branch)
            if self.ignore_case:  # the probe is lower-cased, so are the gates (once, here)
                gates = tuple(g.lower() for g in gates)
            regex = re.compile(core, flags)
            self.entries.append((gates, regex, boundary, negatives))
            self.starts[regex] = () if self.ignore_case else opening_words(core, MIN_START)
        all_gates = [gate for gates, _regex, _boundary, _negatives in self.entries for gate in gates]
        literals.register([*all_gates, *(start for starts in self.starts.values() for start in starts)])
        self.many_gates = len(all_gates) >= MANY_GATES

    def _active(self, text: str) -> list[tuple[re.Pattern[str], bool, tuple[str, ...]]]:
        probe = text.lower() if self.ignore_case else text
        found = literals.cached(probe)
        if found is None and self.many_gates:
            found = literals.present(probe)
        active = []
        for gates, regex, boundary, negatives in self.entries:
            if gates:
                if found is not None:
                    if found.isdisjoint(gates):
                        continue
                else:
                    for gate in gates:
                        if gate in probe:
                            break
                    else:
                        continue
            active.append((regex, boundary, negatives))
        return active

    @staticmethod
    def _ok(text: str, start: int, boundary: bool, negatives: tuple[str, ...]) -> bool:
        if boundary and not at_word_start(text, start):
            return False
        return not any(text[max(0, start - len(n)) : start] == n for n in negatives)

    def _matches(self, text: str) -> list[tuple[int, int]]:
        out: list[tuple[int, int]] = []
        for regex, boundary, negatives in self._active(text):
            found = finditer_from(regex, text, self.starts[regex])
            if boundary or negatives:
                for m in found:
                    start = m.start()
                    if self._ok(text, start, boundary, negatives):
                        out.append((start, m.end()))
            else:
                out.extend(m.span() for m in found)
        return out

    def spans(self, text: str) -> list[tuple[int, int]]:
        """Non-overlapping match spans, leftmost-longest first, sorted."""
        found = sorted((start, -end) for start, end in self._matches(text))
        out: list[tuple[int, int]] = []
        for start, neg_end in found:
            if out and start < out[-1][1]:
                continue
            out.append((start, -neg_end))
        return out

    def count(self, text: str) -> int:
        return len(self.spans(text))

    def search(self, text: str) -> tuple[int, int] | None:
        found = self._matches(text)
        return min(found) if found else None
