"""Relevance: is the item about a US jurisdiction's cooperation with federal immigration enforcement?

Needs immigration-enforcement language (ICE in its immigration sense, 287(g), detainers, sanctuary
policies, deportation ...), a local or state government actor, and a resolved jurisdiction. Other
senses of "ice" (storms, rinks, ice cream, hockey, German ICE trains, Intercontinental Exchange)
count against it; a national story naming no jurisdiction is not relevant.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pipeline.tagging.document import Document
from pipeline.tagging.lexicons import MultiPattern
from pipeline.tagging.scan import literal_positions, matches_at

# Unmistakable phrases (count 2) and topic words that need company (count 1).
_IMMIGRATION_STRONG = MultiPattern(
    r"immigration and customs enforcement|287\s?\(\s?g\s?\)|\b287g\b|immigration detainers?|ice detainers?"
    r"|sanctuary (?:city|cities|county|counties|state|jurisdictions?|polic\w+|ordinances?|laws?|status)"
    r"|secure communities|immigration detainees|immigration holds?|intergovernmental service agreement"
    r"|federal immigration (?:authorities|agents|officials|enforcement|law)"
)
_IMMIGRATION = MultiPattern(
    r"\bdeport\w+|homeland security|\bundocumented\b|illegal (?:aliens?|immigra\w+)"
    r"|criminal aliens?|immigration (?:enforcement|status|agents?|officials|authorities|laws?"
    r"|violations?|policy|policies|arrests?|raids?|cases?)|\bigsa\b|\bnoncitizens?\b|\bimmigrants?\b|\bdetainers?\b"
)
_ICE_CAPS_RE = re.compile(r"\bICE\b|\bI\.C\.E\.")  # counted where "ICE" or "I.C.E." occurs
_ICE_ENFORCEMENT = MultiPattern(
    r"\bICE\b['’s]* (?:agents?|officers?|officials|detainees?|detention|contract|agreement|custody"
    r"|raids?|holds?|warrants?|detainers?|program|partnership|cooperation|jail)"
    r"|(?:with|to|from|by|and|for|of|help|helping|assist|assisting|notify|notifying|contact) ICE\b"
)
_OTHER_SENSE = MultiPattern(
    r"\bice (?:storms?|rinks?|skat\w+|cream|hockey|age|bucket|cubes?|maker|fishing|dancing|climbing|sheets?"
    r"|jams?|dams?|roads?|accumulation|days)\b|\bon the ice\b|\bhockey\b|\bfigure skating\b|intercity express"
    r"|deutsche bahn|\bice trains?\b|high-speed trains?|intercontinental exchange|\bice futures\b|\bnyse\b"
    r"|winter storm|freezing rain|\bsleet\b|\bzamboni\b|\bpower outages?\b|\bskating\b"
)
_LOCAL_ACTOR_RE = re.compile(
    r"\bsheriff|\bjail\b|\bpolice\b|\bcouncil\b|\bcounty\b|\bcity\b|\bmayor\b|\bcommission|\bsupervisors\b"
    r"|\bdetainers?\b|287\s?\(?g\)?|\bsanctuary\b|\bgovernor\b|\bgov\.|\blegislature\b|local law enforcement"
    r"|\bmunicipal|\bfreeholders\b|\btown\b|\bvillage\b|\bdetention (?:center|facility)"
)
MIN_IMMIGRATION = 2.0


@dataclass(kw_only=True)
class RelevanceResult:
    relevant: bool
    immigration: float
    other_sense: float
    reason: str


def assess_relevance(doc: Document, *, has_jurisdiction: bool) -> RelevanceResult:
    """Relevance with its reason; scores are counts of topic phrases (ICE counts when used as the agency)."""
    immigration = 2.0 * _IMMIGRATION_STRONG.count(doc.lower) + _IMMIGRATION.count(doc.lower)
    ice_caps = sum(
        1 for _ in matches_at(_ICE_CAPS_RE, doc.text, literal_positions(doc.text, ("ICE", "I.C.E.")))
    )
    ice_enforcement = _ICE_ENFORCEMENT.count(doc.text)
    other = float(_OTHER_SENSE.count(doc.lower))
    if not other:
        immigration += 1.0 * ice_caps
    immigration += 1.0 * ice_enforcement
    if immigration < MIN_IMMIGRATION:
        return RelevanceResult(
            relevant=False,
            immigration=immigration,
            other_sense=other,
            reason="no immigration-enforcement topic",
        )
    if other > immigration:
        return RelevanceResult(
            relevant=False,
            immigration=immigration,
            other_sense=other,
            reason="another sense of 'ice' dominates",
        )
    if not _LOCAL_ACTOR_RE.search(doc.lower):
        return RelevanceResult(
            relevant=False,
            immigration=immigration,
            other_sense=other,
            reason="no local or state government actor",
        )
    if not has_jurisdiction:
        return RelevanceResult(
            relevant=False, immigration=immigration, other_sense=other, reason="no US jurisdiction named"
        )
    return RelevanceResult(relevant=True, immigration=immigration, other_sense=other, reason="")
