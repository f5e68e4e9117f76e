"""A learned ranker over the candidate jurisdictions of an item (issue 12, part 3).

The rule resolver (pipeline/tagging/jurisdiction.py) scores each resolved place, county and state
with hand-set weights. The ranker keeps its candidates and the signals behind those weights
(headline, frequency, first position, government cues, immigration sentences, URL, dateline) and
adds what the weights ignore: the kind of place against the words of the whole text ("sheriff",
"jail", "commissioners" point to a county; "city council", "mayor" to a city; "governor",
"legislature" to a state), the state cues of the text, containment (a city inside a county that is
also a candidate) and population. A logistic regression (scikit-learn, used only to fit) scores
each candidate; the highest is the jurisdiction. Prediction is a dot product in plain Python, so the
model file is a small JSON and tagging needs no scikit-learn.

The regularisation is chosen by k-fold cross-validation on the training items only;
``muniwatch train`` fits it with the other models (``model.fit_tagger_model``) and stores it in
pipeline/data/tagger_model.json under ``jurisdiction``.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pipeline.tagging.cues import CUE_NAMES, mention_cues
from pipeline.tagging.document import Document, analyse
from pipeline.tagging.gazetteer import load_gazetteer, norm
from pipeline.tagging.jurisdiction import Candidate, choose_jurisdiction
from pipeline.tagging.lexicons import Lexicons, WordPattern
from pipeline.tagging.places import PlaceFinding, find_places

FORMAT = "muniwatch-jurisdiction-ranker/1"
DEFAULT_SEED = 12
FOLDS = 5
C_GRID = (0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)
_DECIMALS = 6  # enough for the scores, and the file stays byte-identical across platforms

# Matched against the lower-cased text (Document.lower), once per item. The county and city words
# are literal phrases: both are found in one pass of a lexicon set (``Lexicons``), which looks where
# their words start instead of trying an alternation at every position. The state words stay a
# regex: their "\d+" and "[sh]" branches start with no literal, and the leading "\b" is what skips
# (one "\b" for every branch: it is checked once per position).
COUNTY_WORDS = (
    r"\b(?:sheriff|sheriff['’]s|jail|jails|commissioners|county commission|board of supervisors"
    r"|county board|county executive|freeholders|parish)\b"
)
CITY_WORDS = (
    r"\b(?:city council|mayor|city hall|city manager|police department|police chief|town council"
    r"|town board|selectboard|village board|aldermen|council members?)\b"
)
_COUNTY_WORDS = WordPattern(COUNTY_WORDS)
_CITY_WORDS = WordPattern(CITY_WORDS)
_LOCAL_WORDS = Lexicons([_COUNTY_WORDS, _CITY_WORDS])
_STATE_WORDS_RE = re.compile(
    r"\b(?:governor|gov\.|legislature|legislators|general assembly|lawmakers|state law|statewide"
    r"|attorney general|senate bill|house bill|state senate|state house|senate committee|house committee"
    r"|department of corrections|state police|state patrol|\d+ (?:\w+ )?counties|[sh]\.?b\.? ?\d+)\b"
)

# "a city in Los Angeles County", "officials in the Orange County seat": the county locates a place.
_LOCATING_BEFORE_RE = re.compile(r"\b(?:in|of|near|across|throughout|outside)\s+(?:the\s+)?$")
_SEAT_AFTER_RE = re.compile(r"(?: county| parish)?\s+seat\b")
# "City of Santa Ana", "the town of Lyme": the place is named as a government.
_GOVERNMENT_OF_BEFORE_RE = re.compile(r"\b(?:city|town|village|township|borough) of\s+$")

FEATURES = (
    "is_state",
    "is_county",
    "is_place",
    "rule_score",
    "rule_margin",
    "rule_top",
    "mentions",
    "headline",
    "lead",
    "gov",
    "topic",
    "url",
    "dateline",
    "suburb",
    "statewide",
    "implicit",
    "first_position",
    "first_local",
    "state_share",
    "top_state",
    "population",
    "contains_candidate",
    "inside_candidate",
    "county_x_county_words",
    "place_x_city_words",
    "state_x_state_words",
    "county_x_city_words",
    "place_x_county_words",
    "county_words_near",
    "city_words_near",
    "state_words_near",
    "local_candidates_if_state",
    "gov_share",
    "topic_share",
    "mention_share",
    "county_locates",
    "government_of",
    *CUE_NAMES,
)


class _WordClass:
    """Where the words of one kind of government occur in an item: how often (log) and in which
    sentences."""

    def __init__(self, doc: Document, starts: list[int]) -> None:
        """``starts``: where each (non-overlapping) match of the words starts."""
        self.amount = math.log1p(len(starts))
        self.sentences = {doc.sentence_index(start) for start in starts}

    def near(self, doc: Document, cand: Candidate) -> float:
        """How many of the candidate's mentions share a sentence with these words (log)."""
        return math.log1p(sum(1 for m in cand.mentions if doc.sentence_index(m.start) in self.sentences))


def _share(doc: Document, cand: Candidate, before: re.Pattern[str], after: re.Pattern[str] | None) -> float:
    """The share of the candidate's mentions with ``before`` just before them or ``after`` just after."""
    if not cand.mentions:
        return 0.0
    hits = 0
    for m in cand.mentions:
        preceding = doc.lower[max(0, m.start - 24) : m.start]
        if before.search(preceding) or (after is not None and after.match(doc.lower, m.end, m.end + 20)):
            hits += 1
    return hits / len(cand.mentions)


def candidate_features(
    doc: Document, finding: PlaceFinding, candidates: Sequence[Candidate]
) -> list[list[float]]:
    """One row of ``FEATURES`` per candidate, in the order given."""
    if not candidates:
        return []
    top_score = max(c.score for c in candidates)
    rule_top = max(candidates, key=lambda c: c.score)
    firsts = [c.mentions[0].start if c.mentions else len(doc.text) for c in candidates]
    local_firsts = [f for c, f in zip(candidates, firsts, strict=True) if c.place.kind != "state"]
    first_local = min(local_firsts) if local_firsts else -1
    ctx = finding.state_context
    ctx_total = sum(ctx.values()) or 1.0
    top_state = max(ctx, key=lambda k: ctx[k]) if ctx else ""
    county_refs = {c.place.ref for c in candidates if c.place.kind == "county"}
    place_counties = {c.place.county for c in candidates if c.place.kind == "place" and c.place.county}
    local_words = _LOCAL_WORDS.scan(doc.lower)
    county_words = _WordClass(doc, [start for start, _end in local_words.spans(_COUNTY_WORDS)])
    city_words = _WordClass(doc, [start for start, _end in local_words.spans(_CITY_WORDS)])
    # Their features count for a state only (multiplied by is_state): looked for when one is a candidate.
    any_state = any(c.place.kind == "state" for c in candidates)
    state_words = _WordClass(
        doc, [m.start() for m in _STATE_WORDS_RE.finditer(doc.lower)] if any_state else []
    )
    length = max(len(doc.text), 1)
    n_local = sum(1 for c in candidates if c.place.kind != "state")
    most = {k: max(c.signals.get(k, 0.0) for c in candidates) or 1.0 for k in ("gov", "topic", "mentions")}
    rows: list[list[float]] = []
    for cand, first in zip(candidates, firsts, strict=True):
        kind = cand.place.kind
        sig = cand.signals
        locates = _share(doc, cand, _LOCATING_BEFORE_RE, _SEAT_AFTER_RE) if kind == "county" else 0.0
        is_state, is_county, is_place = (
            float(kind == "state"),
            float(kind == "county"),
            float(kind == "place"),
        )
        values = {
            "is_state": is_state,
            "is_county": is_county,
            "is_place": is_place,
            "rule_score": cand.score / 10.0,
            "rule_margin": (cand.score - top_score) / 10.0,
            "rule_top": float(cand is rule_top),
            "mentions": math.log1p(sig.get("mentions", 0.0)),
            "headline": sig.get("headline", 0.0),
            "lead": sig.get("lead", 0.0),
            "gov": math.log1p(sig.get("gov", 0.0)),
            "topic": math.log1p(sig.get("topic", 0.0)),
            "url": sig.get("url", 0.0),
            "dateline": min(sig.get("dateline", 0.0), 1.0),
            "suburb": min(sig.get("suburb", 0.0), 1.0),
            "statewide": sig.get("statewide", 0.0),
            "implicit": sig.get("implicit", 0.0),
            "first_position": first / length,
            "first_local": float(kind != "state" and first == first_local),
            "state_share": ctx.get(cand.place.state, 0.0) / ctx_total,
            "top_state": float(cand.place.state == top_state),
            "population": 0.0 if kind == "state" else math.log10(cand.place.population + 10) / 7.0,
            # a county that holds a candidate city, unless it is named only to locate it
            "contains_candidate": float(kind == "county" and cand.place.ref in place_counties)
            * (1 - locates),
            "inside_candidate": float(kind == "place" and cand.place.county in county_refs),
            "county_x_county_words": is_county * county_words.amount,
            "place_x_city_words": is_place * city_words.amount,
            "state_x_state_words": is_state * state_words.amount,
            "county_x_city_words": is_county * city_words.amount,
            "place_x_county_words": is_place * county_words.amount,
            # Each "near" counts for one kind only: it is not looked for in the others.
            "county_words_near": county_words.near(doc, cand) if is_county else 0.0,
            "city_words_near": city_words.near(doc, cand) if is_place else 0.0,
            "state_words_near": state_words.near(doc, cand) if is_state else 0.0,
            "local_candidates_if_state": is_state * math.log1p(n_local),
            "gov_share": sig.get("gov", 0.0) / most["gov"],
            "topic_share": sig.get("topic", 0.0) / most["topic"],
            "mention_share": sig.get("mentions", 0.0) / most["mentions"],
            "county_locates": locates,
            "government_of": _share(doc, cand, _GOVERNMENT_OF_BEFORE_RE, None) if is_place else 0.0,
            **mention_cues(doc, cand.mentions, is_state=kind == "state"),
        }
        rows.append([values[name] for name in FEATURES])
    return rows


@dataclass(kw_only=True)
class JurisdictionRanker:
    """A linear scorer over ``FEATURES`` (standardised), plus how it was made (``meta``)."""

    features: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[float, ...]
    intercept: float
    meta: dict[str, Any] = field(default_factory=dict)

    def score_rows(self, rows: Sequence[Sequence[float]]) -> list[float]:
        return [
            self.intercept
            + sum(w * (x - m) / s for w, x, m, s in zip(self.coef, row, self.mean, self.scale, strict=True))
            for row in rows
        ]

    def rank(self, doc: Document, finding: PlaceFinding, candidates: Sequence[Candidate]) -> list[Candidate]:
        """The candidates, best first (ties: the earlier mention first)."""
        scores = self.score_rows(candidate_features(doc, finding, candidates))
        order = sorted(
            range(len(candidates)),
            key=lambda i: (-scores[i], candidates[i].mentions[0].start if candidates[i].mentions else 10**9),
        )
        return [candidates[i] for i in order]

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "features": list(self.features),
            "mean": [round(v, _DECIMALS) for v in self.mean],
            "scale": [round(v, _DECIMALS) for v in self.scale],
            "coef": [round(v, _DECIMALS) for v in self.coef],
            "intercept": round(self.intercept, _DECIMALS),
            "meta": self.meta,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> JurisdictionRanker:
        if data.get("format") != FORMAT:
            raise ValueError(f"jurisdiction ranker: format {data.get('format')!r}, expected {FORMAT!r}")
        features = tuple(str(f) for f in data["features"])
        if features != FEATURES:
            raise ValueError(
                "jurisdiction ranker: its features differ from this code's; rebuild it with `muniwatch train`"
            )
        return cls(
            features=features,
            mean=tuple(float(v) for v in data["mean"]),
            scale=tuple(float(v) for v in data["scale"]),
            coef=tuple(float(v) for v in data["coef"]),
            intercept=float(data["intercept"]),
            meta=dict(data.get("meta") or {}),
        )


@dataclass(kw_only=True)
class _Example:
    """One labelled item: its candidates' rows, which one is right (-1: none is), and whether the
    rule resolver got it right."""

    rows: list[list[float]]
    gold: int
    rule_ok: bool


def _matches(cand: Candidate, name: str, state: str) -> bool:
    same = norm(name).replace("saint ", "st. ") == norm(cand.place.name).replace("saint ", "st. ")
    return same and cand.place.state == state


def _examples(items: Sequence[Mapping[str, Any]]) -> list[_Example]:
    """Items labelled relevant with a jurisdiction, through the same steps as tagging."""
    gaz = load_gazetteer()
    out: list[_Example] = []
    for item in items:
        name, state = item.get("jurisdiction"), item.get("state")
        if not item.get("relevant") or not name or not state:
            continue
        url = str(item.get("url") or item.get("source") or "")
        doc = analyse(title=str(item.get("title") or ""), text=str(item.get("text") or ""), url=url)
        finding = find_places(doc, gaz, item.get("home_state"), url=url)
        choice = choose_jurisdiction(doc, finding, gaz.states_by_code)
        candidates = choice.candidates
        gold = next((i for i, c in enumerate(candidates) if _matches(c, str(name), str(state))), -1)
        main = choice.main
        rule_ok = main is not None and _same_jurisdiction(main.name, main.state, str(name), str(state))
        out.append(_Example(rows=candidate_features(doc, finding, candidates), gold=gold, rule_ok=rule_ok))
    return out


def _same_jurisdiction(name: str, state: str, gold_name: str, gold_state: str) -> bool:
    return state == gold_state and norm(name).replace("saint ", "st. ") == norm(gold_name).replace(
        "saint ", "st. "
    )


def _fit(examples: Sequence[_Example], c_value: float, seed: int) -> JurisdictionRanker:
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    rows = [row for ex in examples if ex.gold >= 0 for row in ex.rows]
    labels = [int(i == ex.gold) for ex in examples if ex.gold >= 0 for i in range(len(ex.rows))]
    x = np.array(rows, dtype=float)
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale == 0] = 1.0
    model = LogisticRegression(C=c_value, max_iter=5000, random_state=seed)
    model.fit((x - mean) / scale, np.array(labels))
    return JurisdictionRanker(
        features=FEATURES,
        mean=tuple(float(v) for v in mean),
        scale=tuple(float(v) for v in scale),
        coef=tuple(float(v) for v in model.coef_[0]),
        intercept=float(model.intercept_[0]),
    )


def _top_is_gold(ranker: JurisdictionRanker, ex: _Example) -> bool:
    if ex.gold < 0 or not ex.rows:
        return False
    scores = ranker.score_rows(ex.rows)
    return max(range(len(scores)), key=lambda i: (scores[i], -i)) == ex.gold


def _folds(n: int, seed: int) -> list[list[int]]:
    from sklearn.model_selection import KFold

    splitter = KFold(n_splits=FOLDS, shuffle=True, random_state=seed)
    return [list(test) for _, test in splitter.split(list(range(n)))]


def cross_validate(examples: Sequence[_Example], c_value: float, seed: int) -> float:
    """Accuracy of the ranker's top candidate over ``FOLDS`` folds (items with no right candidate
    count as misses)."""
    hits = 0
    for test in _folds(len(examples), seed):
        held = set(test)
        ranker = _fit([ex for i, ex in enumerate(examples) if i not in held], c_value, seed)
        hits += sum(_top_is_gold(ranker, examples[i]) for i in test)
    return hits / len(examples)


def fit_jurisdiction_ranker(items: Sequence[Mapping[str, Any]], *, seed: int) -> JurisdictionRanker:
    """Choose C by k-fold CV on ``items`` (parsed train.jsonl lines), fit on all of them, and record
    in ``meta`` the CV accuracy of the ranker and of the rule resolver, and the items' SHA-256 (of
    their canonical JSON, one per line)."""
    examples = _examples(items)
    if not examples:
        raise ValueError("fit_jurisdiction_ranker: no item is labelled relevant with a jurisdiction")
    by_c = {c: cross_validate(examples, c, seed) for c in C_GRID}
    best_c = max(C_GRID, key=lambda c: (round(by_c[c], 9), -c))  # ties: the stronger regularisation
    ranker = _fit(examples, best_c, seed)
    n = len(examples)
    canonical = "\n".join(json.dumps(item, sort_keys=True, ensure_ascii=False) for item in items)
    ranker.meta = {
        "items_sha256": hashlib.sha256(canonical.encode("utf-8")).hexdigest(),
        "seed": seed,
        "C": best_c,
        "folds": FOLDS,
        "items": n,
        "cv_accuracy": round(by_c[best_c], 4),
        "cv_accuracy_by_C": {str(c): round(v, 4) for c, v in by_c.items()},
        "rule_accuracy": round(sum(ex.rule_ok for ex in examples) / n, 4),
        "right_candidate_found": round(sum(ex.gold >= 0 for ex in examples) / n, 4),
    }
    return ranker
