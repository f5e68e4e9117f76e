"""Relevance: is the item about a US jurisdiction's cooperation with federal immigration enforcement?

Needs immigration-enforcement language (ICE in its immigration sense, 287(g), detainers, sanctuary
policies, deportation ...), a local or state government actor, and a resolved jurisdiction. Other
senses of "ice" (storms, rinks, ice cream, hockey, German ICE trains, Intercontinental Exchange)
count against it; a national story naming no jurisdiction is not relevant.
"""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.tagging.document import Document
from pipeline.tagging.lexicons import Lexicons, TextMatches, WordPattern

# Unmistakable phrases (count 2) and topic words that need company (count 1).
_IMMIGRATION_STRONG = WordPattern(
    r"immigration and customs enforcement|287\s?\(\s?g\s?\)|\b287g\b|immigration detainers?|ice detainers?"
    r"|sanctuary (?:city|cities|county|counties|state|jurisdictions?|polic\w+|ordinances?|laws?|status)"
    r"|secure communities|immigration detainees|immigration holds?|intergovernmental service agreement"
    r"|federal immigration (?:authorities|agents|officials|enforcement|law)"
)
_IMMIGRATION = WordPattern(
    r"\bdeport\w+|homeland security|\bundocumented\b|illegal (?:aliens?|immigra\w+)"
    r"|criminal aliens?|immigration (?:enforcement|status|agents?|officials|authorities|laws?"
    r"|violations?|policy|policies|arrests?|raids?|cases?)|\bigsa\b|\bnoncitizens?\b|\bimmigrants?\b|\bdetainers?\b"
)
# "ICE" or "I.C.E." as a word (a lexicon pattern: found by its literal, not tried at every position;
# the two never overlap, so the count is that of the plain regex's matches).
_ICE_CAPS = WordPattern(r"\bICE\b|\bI\.C\.E\.")
_ICE_ENFORCEMENT = WordPattern(
    r"\bICE\b['’s]* (?:agents?|officers?|officials|detainees?|detention|contract|agreement|custody"
    r"|raids?|holds?|warrants?|detainers?|program|partnership|cooperation|jail)"
    r"|(?:with|to|from|by|and|for|of|help|helping|assist|assisting|notify|notifying|contact) ICE\b"
)
_OTHER_SENSE = WordPattern(
    r"\bice (?:storms?|rinks?|skat\w+|cream|hockey|age|bucket|cubes?|maker|fishing|dancing|climbing|sheets?"
    r"|jams?|dams?|roads?|accumulation|days)\b|\bon the ice\b|\bhockey\b|\bfigure skating\b|intercity express"
    r"|deutsche bahn|\bice trains?\b|high-speed trains?|intercontinental exchange|\bice futures\b|\bnyse\b"
    r"|winter storm|freezing rain|\bsleet\b|\bzamboni\b|\bpower outages?\b|\bskating\b"
)
_LOCAL_ACTOR = WordPattern(
    r"\bsheriff|\bjail\b|\bpolice\b|\bcouncil\b|\bcounty\b|\bcity\b|\bmayor\b|\bcommission|\bsupervisors\b"
    r"|\bdetainers?\b|287\s?\(?g\)?|\bsanctuary\b|\bgovernor\b|\bgov\.|\blegislature\b|local law enforcement"
    r"|\bmunicipal|\bfreeholders\b|\btown\b|\bvillage\b|\bdetention (?:center|facility)"
)
MIN_IMMIGRATION = 2.0
# The lexicons read on the lower-cased text; the two "ICE" ones read the text as written, in one pass.
LEXICONS = (_IMMIGRATION_STRONG, _IMMIGRATION, _OTHER_SENSE, _LOCAL_ACTOR)
_AS_WRITTEN = Lexicons((_ICE_CAPS, _ICE_ENFORCEMENT))


@dataclass(kw_only=True)
class RelevanceResult:
    """The rule verdict with its reason, and the counts it was decided on (features of the model)."""

    relevant: bool
    immigration: float
    other_sense: float
    reason: str
    strong_phrases: int = 0
    ice_as_agency: int = 0
    local_actor: bool = False
    has_jurisdiction: bool = False


def _reason(immigration: float, other: float, local_actor: bool, has_jurisdiction: bool) -> str:
    if immigration < MIN_IMMIGRATION:
        return "no immigration-enforcement topic"
    if other > immigration:
        return "another sense of 'ice' dominates"
    if not local_actor:
        return "no local or state government actor"
    if not has_jurisdiction:
        return "no US jurisdiction named"
    return ""


def assess_relevance(doc: Document, found: TextMatches, *, has_jurisdiction: bool) -> RelevanceResult:
    """Relevance with its reason; scores are counts of topic phrases (ICE counts when used as the agency).

    ``found``: what ``LEXICONS`` found in ``doc.lower``."""
    strong = found.count(_IMMIGRATION_STRONG)
    immigration = 2.0 * strong + found.count(_IMMIGRATION)
    as_written = _AS_WRITTEN.scan(doc.text)
    ice_caps = as_written.count(_ICE_CAPS)
    ice_enforcement = as_written.count(_ICE_ENFORCEMENT)
    other = float(found.count(_OTHER_SENSE))
    if not other:
        immigration += 1.0 * ice_caps
    immigration += 1.0 * ice_enforcement
    local_actor = found.search(_LOCAL_ACTOR) is not None
    reason = _reason(immigration, other, local_actor, has_jurisdiction)
    return RelevanceResult(
        relevant=not reason,
        immigration=immigration,
        other_sense=other,
        reason=reason,
        strong_phrases=strong,
        ice_as_agency=ice_caps + ice_enforcement,
        local_actor=local_actor,
        has_jurisdiction=has_jurisdiction,
    )
