"""Choose the main jurisdiction (the government whose decision the item reports) among the places found.

Each resolved place, county or state gets a salience score from its mentions: headline and URL,
first sentences, government cues ("City of X", "X City Council", "X County Sheriff", "Sheriff of X
County", "Mayor of X"), sentences about immigration enforcement, and frequency. Datelines count little
(the reporter's location). A state is a candidate only when its own government acts (governor,
legislature, attorney general, state law, "all N counties", "<State> sheriffs").

Before scoring, a few ways of naming change whose candidate a mention is: "Hawaii Police Department"
is the same-named county's (a state has no police department), and a bare "Santa Clara" counts for
an acting "Santa Clara County" that contains the place. After ranking, a place named only in a
dateline yields to one named on the topic.

Those hand-set weights are today's rule resolver. Each candidate also keeps the signals its score was
made of (``Candidate.signals``); a learned ``JurisdictionRanker`` (pipeline/tagging/ranker.py) can
order the candidates from them instead.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from pipeline.tagging.document import Document
from pipeline.tagging.gazetteer import Place, load_gazetteer, norm
from pipeline.tagging.lexicons import WordPattern
from pipeline.tagging.mentions import Mention
from pipeline.tagging.places import PlaceFinding
from pipeline.tagging.types import Jurisdiction

if TYPE_CHECKING:  # the ranker module imports Candidate from here
    from pipeline.tagging.ranker import JurisdictionRanker

_COUNTY_GOV_AFTER_RE = re.compile(
    r"(?:['’]s?)?\s+(?:sheriff|sheriff['’]s|board|commission|commissioners|supervisors|jail|detention|government"
    r"|executive|officials|council|legislature|freeholders|judge|attorney|court|manager|administrator"
    r"|corrections|police|department of corrections|adult detention)\b",
    re.IGNORECASE,
)
_COUNTY_GOV_BEFORE_RE = re.compile(
    r"(?:sheriff|board of supervisors|commissioners|commission|county) of\s+(?:the\s+)?$", re.IGNORECASE
)
_IMMIGRATION_RE = re.compile(
    r"\bice\b|287\s?\(?g\)?|\bdetainers?\b|\bsanctuary\b|immigra|\bdeport|homeland security"
)
# The same words as a lexicon pattern, to find the sentences that name them: each branch is found
# by its literal, where the alternation above (led by "\b") is tried at every position of the text.
# Every span starts where ``_IMMIGRATION_RE`` matches and none hides a sentence: no branch matches
# over itself or from inside a word it was refused in, so the sentences are the same.
_IMMIGRATION = WordPattern(_IMMIGRATION_RE.pattern)
_STATE_GOV_RE = re.compile(
    r"\bgov\.|\b(?:governor|legislature|general assembly|attorney general|state law|statewide|sanctuary state"
    r"|state agencies|executive order|state['’]s \d+ counties|all \d+ counties|all (?:of )?the state['’]s"
    r"|state senate|state house|(?:senate|house|assembly) (?:committee|panel|judiciary)|[sh]\.?b\.? ?\d+"
    # a legislature or governor acting without the word: "lawmakers will vote", "signed the bill into
    # law", bills numbered the Rhode Island or New Jersey way ("S410", "A1234")
    r"|lawmakers|legislators|into law|[sha]\d{2,4})\b",
    re.IGNORECASE,
)
_STATEWIDE_HEADLINE_RE = re.compile(r"\b(?:all|every) (?:\w+ ){0,2}(?:sheriffs|counties)\b", re.IGNORECASE)

_LOCAL_POLICE_AFTER_RE = re.compile(r"(?:['’]s)?\s+(?:police (?:department|dept\b|chief)|pd\b)")
# "this Phoenix suburb", "the Portland area": the place is named to locate another.
_SUBURB_AFTER_RE = re.compile(r"[\s-]+(?:suburbs?|area|metro)\b")
# "Orange County's 1st sanctuary city", "Dallas County's largest town": the county locates a city.
_COUNTY_LOCATES_AFTER_RE = re.compile(
    r"['’]s\s+(?:\S+\s+){0,2}\W?(?:city|town|suburb|village)\b"
    r"(?!\s+(?:council|hall|manager|attorney|government|officials|police|staff|clerk|leaders|board))",
    re.IGNORECASE,
)


def _named_as_context(doc: Document, m: Mention) -> bool:
    """Whether the mention only locates another place ("this Phoenix suburb", "Orange County's
    first sanctuary city")."""
    after = doc.text[m.end : m.end + 40]
    return bool(
        _SUBURB_AFTER_RE.match(after) or (m.kind == "county" and _COUNTY_LOCATES_AFTER_RE.match(after))
    )


SCORE_MENTION = 1.0
SCORE_MENTION_CAP = 5.0
SCORE_HEADLINE = 4.0
SCORE_URL = 2.0
SCORE_LEAD = 1.5
SCORE_GOV = 2.5
SCORE_GOV_CAP = 7.5
SCORE_TOPIC = 1.0
SCORE_TOPIC_CAP = 4.0
SCORE_STATE_MENTION = 0.5
SCORE_STATEWIDE = 6.0


@dataclass(kw_only=True)
class Candidate:
    place: Place
    mentions: list[Mention] = field(default_factory=list)
    score: float = 0.0
    evidence: str = ""
    town: bool = False
    # What the score was made of (mention counts, headline, government cues, ...): the ranker's input.
    signals: dict[str, float] = field(default_factory=dict)


@dataclass(kw_only=True)
class JurisdictionResult:
    main: Jurisdiction | None
    others: list[Jurisdiction]
    evidence: str
    candidates: list[Candidate]


def _sentences_matching(
    doc: Document, regex: re.Pattern[str], text: str, spans: Iterable[tuple[int, int]] | None = None
) -> set[int]:
    """Indices of the sentences in which ``regex`` matches, from one scan of the whole ``text``
    (``doc.text`` or ``doc.lower``, same offsets) or from the ``spans`` of a lexicon pattern with
    the same matches; a match that runs past its sentence's end (never seen, but possible in
    principle: "287" ending a paragraph, "(g)" starting the next) is decided by searching each
    sentence it touches alone."""
    found: set[int] = set()
    for start, end in spans if spans is not None else (m.span() for m in regex.finditer(text)):
        first = doc.sentence_index(start)
        if end <= doc.sentences[first].end:
            found.add(first)
            continue
        last = doc.sentence_index(end - 1)
        for index in range(first, last + 1):
            sentence = doc.sentences[index]
            if regex.search(text, sentence.start, sentence.end):
                found.add(index)
    return found


class _Topics:
    """Per sentence, computed once per item: does it name immigration enforcement, and a state
    government acting."""

    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self._immigration: set[int] | None = None
        self._state_gov: dict[int, bool] = {}
        self._state_action: dict[int, bool] = {}

    def immigration(self, index: int) -> bool:
        if self._immigration is None:
            spans = _IMMIGRATION.spans(self.doc.lower)
            self._immigration = _sentences_matching(self.doc, _IMMIGRATION_RE, self.doc.lower, spans)
        return index in self._immigration

    def state_gov(self, index: int) -> bool:
        if index not in self._state_gov:
            self._state_gov[index] = bool(_STATE_GOV_RE.search(self.doc.sentences[index].text))
        return self._state_gov[index]

    def state_action(self, index: int) -> bool:
        """A state government acting (sentence ``index``) on immigration enforcement (named there
        or in a sentence next to it in the paragraph: "Pennsylvania lawmakers will vote on SB 10.
        It would force local police to hold immigrants for ICE.")."""
        if index not in self._state_action:
            sentences = self.doc.sentences
            paragraph = sentences[index].paragraph
            on_topic = any(
                self.immigration(near)  # one scan per item, looked up; state_gov is a search per sentence
                for near in (index - 1, index, index + 1)
                if 0 <= near < len(sentences) and sentences[near].paragraph == paragraph
            )
            self._state_action[index] = on_topic and self.state_gov(index)
        return self._state_action[index]


def to_jurisdiction(place: Place, *, town: bool = False) -> Jurisdiction:
    jtype = "town" if town and place.type in ("city", "town") else place.type
    return Jurisdiction(
        name=place.name, type=jtype, state=place.state, key=place.key, lat=place.lat, lon=place.lon
    )


def _gov_cue(doc: Document, m: Mention) -> bool:
    if "gov" in m.cues:
        return True
    if m.kind == "county":
        before = doc.text[max(0, m.start - 40) : m.start]
        return bool(
            _COUNTY_GOV_AFTER_RE.match(doc.text, m.end, m.end + 60) or _COUNTY_GOV_BEFORE_RE.search(before)
        )
    return False


def _slug_names(slug: list[str], place: Place) -> bool:
    """Whether a URL slug's words name ``place``: a county as "mahoning county" or "mahoning co"
    (slugs shorten "County"), a city only when no such county word follows its name."""
    county = place.kind == "county"
    name = norm(place.name.removesuffix(" County") if county else place.name).split()
    size = len(name)
    for start in range(len(slug) - size + 1):
        if slug[start : start + size] != name:
            continue
        following = slug[start + size] if start + size < len(slug) else ""
        if (following == "co" or following.startswith("count")) == county:
            return True
    return False


def _score_local(doc: Document, cand: Candidate, topics: _Topics) -> None:
    score = min(SCORE_MENTION_CAP, SCORE_MENTION * len(cand.mentions))
    gov = topic = 0.0
    headline = lead = False
    datelines = suburbs = 0
    best_span, best_weight = "", -1.0
    first_sentences = {id(s) for s in doc.sentences[:3] if not s.is_headline}
    for m in cand.mentions:
        index = doc.sentence_index(m.start)
        sentence = doc.sentences[index]
        weight = 0.0
        if "dateline" in m.cues:
            datelines += 1
            score -= 0.5  # the reporter's location: often the actor itself, often just a nearby seat
        if _named_as_context(doc, m):
            suburbs += 1
            continue  # "this Phoenix suburb": the place named is context, not the actor
        if doc.in_headline(m.start):
            headline = True
            weight += 2
        elif id(sentence) in first_sentences:
            lead = True
        if _gov_cue(doc, m):
            gov += SCORE_GOV
            weight += 2
        if topics.immigration(index):
            topic += SCORE_TOPIC
            weight += 1
        if weight > best_weight:
            best_span, best_weight = sentence.text.strip(), weight
        if "town" in m.cues:
            cand.town = True
    score += min(gov, SCORE_GOV_CAP) + min(topic, SCORE_TOPIC_CAP)
    score += SCORE_HEADLINE if headline else 0.0
    score += SCORE_LEAD if lead else 0.0
    named = bool(doc.url_words) and _slug_names(doc.url_words.lower().split(), cand.place)
    if named:
        score += SCORE_URL
    cand.score = score

    cand.evidence = best_span
    cand.signals = {
        "mentions": float(len(cand.mentions)),
        "headline": float(headline),
        "lead": float(lead),
        "gov": gov / SCORE_GOV,
        "topic": topic / SCORE_TOPIC,
        "url": float(named),
        "dateline": float(datelines),
        "suburb": float(suburbs),
    }


def _score_state(doc: Document, cand: Candidate, topics: _Topics) -> None:
    score = 0.0
    gov = 0.0
    best_span = ""
    headline = statewide = False
    for m in cand.mentions:
        index = doc.sentence_index(m.start)
        sentence = doc.sentences[index]
        score += SCORE_STATE_MENTION
        if topics.state_action(index):
            gov += SCORE_GOV
            best_span = best_span or sentence.text.strip()
        if doc.in_headline(m.start):
            headline = True
            score += SCORE_HEADLINE
            if _STATEWIDE_HEADLINE_RE.search(doc.headline):
                statewide = True
                score += SCORE_STATEWIDE
                best_span = sentence.text.strip()
    cand.score = score + min(gov, SCORE_GOV_CAP)
    cand.signals = {
        "mentions": float(len(cand.mentions)),
        "headline": float(headline),
        "gov": gov / SCORE_GOV,
        "statewide": float(statewide),
    }
    cand.evidence = best_span or (
        doc.sentence_at(cand.mentions[0].start).text.strip() if cand.mentions else ""
    )


def _implicit_state(
    doc: Document, finding: PlaceFinding, states: dict[str, Place], topics: _Topics
) -> Candidate | None:
    """A state government acting without being named ("Governor X's administration ordered ...")."""
    if not finding.state_context:
        return None
    code = max(finding.state_context, key=lambda k: finding.state_context[k])
    place = states.get(code)
    if place is None:
        return None
    gov = 0.0
    span = ""
    for index, sentence in enumerate(doc.sentences):
        if topics.state_action(index):
            gov += SCORE_GOV * sentence.voice if sentence.voice else 0.5
            span = span or sentence.text.strip()
    if gov <= 0:
        return None
    signals = {"gov": gov / SCORE_GOV, "implicit": 1.0}
    return Candidate(place=place, score=min(gov, SCORE_GOV_CAP), evidence=span, signals=signals)


def eligible(cand: Candidate) -> bool:
    """Whether a candidate may be the jurisdiction: any place or county, a state only when its own
    government acts (else "Texas" in "Houston, Texas" would compete)."""
    return cand.place.kind != "state" or cand.score >= SCORE_GOV


def _county_named_like_its_state(doc: Document, m: Mention, place: Place) -> tuple[Mention, Place]:
    """ "the Hawaii Police Department", "Oklahoma police chief": a state has state police or a
    highway patrol, not a police department, so the name is its same-named county's (Hawaii
    County, Oklahoma County, Utah County, ...), when the state has one."""
    if place.kind != "state" or not _LOCAL_POLICE_AFTER_RE.match(doc.lower, m.end):
        return m, place
    counties = load_gazetteer().counties(f"{place.name} County")
    county = next((c for c in counties if c.state == place.state), None)
    if county is None:
        return m, place
    return replace(m, kind="county", candidates=(county,), resolved=county, cues={*m.cues, "gov"}), county


def _merge_bare_names_into_acting_county(doc: Document, by_key: dict[str, Candidate]) -> None:
    """ "Santa Clara County supervisors ... ICE detainers ignored by Santa Clara": when a county acts
    as a government and a place of the same name lies in it, the bare name is the county's short
    form, not its seat. Mentions of the place that name a city government ("City of Tulsa", "Tulsa
    police") stay the place's. (In the training items, whenever both were candidates the county
    was the jurisdiction.)"""
    places = {
        (c.place.county, norm(c.place.name)): key for key, c in by_key.items() if c.place.kind == "place"
    }
    for county in [c for c in by_key.values() if c.place.kind == "county"]:
        key = places.get((county.place.ref, norm(county.place.name).rsplit(" ", 1)[0]))
        if key is None or key not in by_key or not any(_gov_cue(doc, m) for m in county.mentions):
            continue
        cand = by_key[key]
        as_city = [m for m in cand.mentions if _gov_cue(doc, m) or "town" in m.cues]
        bare = [m for m in cand.mentions if not (_gov_cue(doc, m) or "town" in m.cues)]
        cand.mentions = as_city
        county.mentions = sorted([*county.mentions, *bare], key=lambda m: m.start)
        if not cand.mentions:
            del by_key[key]


def choose_jurisdiction(
    doc: Document,
    finding: PlaceFinding,
    states: dict[str, Place],
    ranker: JurisdictionRanker | None = None,
) -> JurisdictionResult:
    """Main jurisdiction, the others (by salience) and the sentence that names the main one.

    Without ``ranker`` the hand-set scores decide. With one, its top candidate is the jurisdiction,
    even a state the rules hold back ("Kentucky" when a Senate committee acts, "Montana" when only
    the state is named), so an item naming only a state gets one; the others stay the eligible
    candidates, by learned score."""
    by_key: dict[str, Candidate] = {}
    for m in finding.mentions:
        if m.resolved is None or "qualifier" in m.cues:
            continue
        m, place = _county_named_like_its_state(doc, m, m.resolved)
        cand = by_key.setdefault(place.key, Candidate(place=place))
        cand.mentions.append(m)
    _merge_bare_names_into_acting_county(doc, by_key)
    topics = _Topics(doc)
    for cand in by_key.values():
        if cand.place.kind == "state":
            _score_state(doc, cand, topics)
        else:
            _score_local(doc, cand, topics)
    if not any(c.place.kind == "state" for c in by_key.values()):
        implicit = _implicit_state(doc, finding, states, topics)
        if implicit is not None:
            by_key[implicit.place.key] = implicit
    ranked = sorted(
        by_key.values(),
        key=lambda c: (-c.score, c.mentions[0].start if c.mentions else 10**9),
    )
    return pick_jurisdiction(doc, finding, ranked, ranker)


def _named_only_in_dateline(cand: Candidate) -> bool:
    return bool(cand.mentions) and all("dateline" in m.cues for m in cand.mentions)


def _named_on_topic(doc: Document, cand: Candidate, topics: _Topics) -> bool:
    """Named in running text (not a dateline, not "this X suburb") in a sentence about
    immigration enforcement."""
    return any(
        "dateline" not in m.cues
        and not _named_as_context(doc, m)
        and topics.immigration(doc.sentence_index(m.start))
        for m in cand.mentions
    )


def _datelines_last(doc: Document, order: list[Candidate]) -> list[Candidate]:
    """A place named only in the dateline ("WASHINGTON –", "HOUSTON –") is where the reporter or
    the agency's press office sits: it yields to any other place the text names on the topic (in
    the training items no dateline-only place was the jurisdiction when another was named). When no
    other place is named on the topic ("GLENDALE, Ariz. — Police in this Phoenix suburb ..."), the
    dateline is all there is and keeps its rank."""
    if not order or not _named_only_in_dateline(order[0]):
        return order
    topics = _Topics(doc)
    if not any(_named_on_topic(doc, c, topics) for c in order[1:] if not _named_only_in_dateline(c)):
        return order
    return [c for c in order if not _named_only_in_dateline(c)] + [
        c for c in order if _named_only_in_dateline(c)
    ]


def pick_jurisdiction(
    doc: Document,
    finding: PlaceFinding,
    ranked: list[Candidate],
    ranker: JurisdictionRanker | None = None,
) -> JurisdictionResult:
    """The result from candidates already scored by the rules (``JurisdictionResult.candidates``):
    the tagger scores them once and lets its learned ranker reorder them."""
    pool = sorted((c for c in ranked if eligible(c)), key=lambda c: -c.score)
    if ranker is not None and ranked:
        learned = _datelines_last(doc, ranker.rank(doc, finding, ranked))
        pool = [learned[0], *(c for c in learned[1:] if eligible(c))]
    else:
        pool = _datelines_last(doc, pool)
    if not pool:
        return JurisdictionResult(main=None, others=[], evidence="", candidates=ranked)
    main = pool[0]
    others = [to_jurisdiction(c.place, town=c.town) for c in pool[1:]]
    return JurisdictionResult(
        main=to_jurisdiction(main.place, town=main.town),
        others=others,
        evidence=main.evidence,
        candidates=ranked,
    )
