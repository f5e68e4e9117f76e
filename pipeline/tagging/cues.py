"""How a candidate jurisdiction is named: cues the jurisdiction ranker reads beside the rule signals.

The rule resolver counts where a place is named (headline, lead, near government words); these cues
say in what role it is named, which the counts miss:
- only in a dateline ("WASHINGTON –", "HOUSTON –"): where the reporter or the agency's press office
  sits, weak evidence of who acted;
- inside the name of an organisation or an outlet ("the ACLU of Texas", "The Iowa Standard",
  "Louisville Courier Journal"): the state or city is not the actor there;
- as the owner of a government body ("Alaska Department of Corrections", "the Kentucky Senate",
  "Indiana General Assembly", "State of Oregon"): the government itself is named.

Every cue is a share of the candidate's mentions (0..1), so it does not grow with the text's length.
The words are general (kinds of organisation, outlet and government body), not names from any item.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from pipeline.tagging.document import Document
from pipeline.tagging.mentions import Mention

# "ACLU of", "American Civil Liberties Union of", "University of", "League of Women Voters of" ...
_ORG_OF_BEFORE_RE = re.compile(
    r"\b(?:aclu|union|university|college|association|coalition|alliance|federation|league|council"
    r"|network|project|society|foundation|institute|center|centre|committee|party|chamber|conference"
    r"|democrats|republicans|voters|workers|friends|dioceses?|archdiocese)\s+(?:of|for)\s+(?:the\s+)?$"
)
# The words just after the name: an outlet ("Iowa Standard", "Courier Journal") or an organisation.
_ORG_AFTER_RE = re.compile(
    r"(?:['’]s)?\s+(?:standard|times|news|tribune|journal|courier|herald|post|gazette|chronicle|register"
    r"|observer|sentinel|examiner|star|daily|weekly|public radio|radio|tv|today|press|dispatch|monitor"
    r"|beacon|inquirer|enquirer|reporter|record|review|independent|current|citizen|mirror|leader"
    r"|university|college|chamber|democrats|republicans|gop|democratic party|republican party"
    r"|immigrant|immigration coalition|coalition|alliance|association|federation|network|project)\b"
)
# The words just after a state's name that make it the owner of a state government body.
_STATE_BODY_AFTER_RE = re.compile(
    r"(?:['’]s)?\s+(?:department|dept\.|division|office of|agency|legislature|legislators|lawmakers"
    r"|general assembly|senate|house|assembly|supreme court|court of appeals|state police|state patrol"
    r"|highway patrol|attorney general|governor|gov\.|board of|commission|national guard|state government"
    r"|state law|law|statute|constitution|code)\b"
)
_STATE_BODY_BEFORE_RE = re.compile(r"\b(?:state|commonwealth|governor|gov\.|legislature) of\s+(?:the\s+)?$")

CUE_NAMES = ("dateline_only", "in_organisation", "state_body")


def _share(flags: Sequence[bool]) -> float:
    return sum(flags) / len(flags) if flags else 0.0


def mention_cues(doc: Document, mentions: Sequence[Mention], *, is_state: bool) -> dict[str, float]:
    """``CUE_NAMES`` for one candidate from its mentions (all 0.0 when it has none, e.g. a state
    inferred from its governor's actions)."""
    if not mentions:
        return dict.fromkeys(CUE_NAMES, 0.0)
    in_org: list[bool] = []
    body: list[bool] = []
    for m in mentions:
        before = doc.lower[max(0, m.start - 40) : m.start]
        after_end = min(len(doc.lower), m.end + 40)
        in_org.append(
            bool(_ORG_OF_BEFORE_RE.search(before) or _ORG_AFTER_RE.match(doc.lower, m.end, after_end))
        )
        # Only a state owns a state government body: the body regexes are not run for other places.
        body.append(
            is_state
            and bool(
                _STATE_BODY_AFTER_RE.match(doc.lower, m.end, after_end)
                or _STATE_BODY_BEFORE_RE.search(before)
            )
        )
    return {
        "dateline_only": float(all("dateline" in m.cues for m in mentions)),
        "in_organisation": _share(in_org),
        "state_body": _share(body),
    }
