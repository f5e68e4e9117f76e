"""The three taggers ``muniwatch eval`` compares, each fitted and applied the same way.

- ``learned``: the shipped method (``model.fit_tagger_model`` / ``model.predict_tags``);
- ``rules``: the rule verdicts as they were before the model (relevance, event and stance rules);
- ``bow``: a plain bag-of-words baseline — TF-IDF of word 1-2-grams and character 3-5-grams of the
  whole text, logistic regression per field, no rule features; its jurisdiction is the rule resolver's.

A system is a ``fit(analyses, labels, seed) -> Predictor``; a predictor turns an analysed item into
``Tags`` and can say which features decided a field (for ``--errors``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import cast

from pipeline.tagging.features import (
    ItemAnalysis,
    event_features,
    relevance_features,
    stance_features,
    stance_words,
    whole_words,
)
from pipeline.tagging.labelled import LabelledItem
from pipeline.tagging.linear import FitOptions, LinearModel, fit_linear
from pipeline.tagging.model import (
    NOT_RELEVANT,
    RELEVANT,
    TaggerModel,
    clip,
    fit_tagger_model,
    predict_tags,
)
from pipeline.tagging.types import Event, Evidence, Stance, Tags

SYSTEMS = ("learned", "rules", "bow")
TOP_FEATURES = 6
BOW_OPTIONS = FitOptions(c=10.0, max_n=2, min_df=1, max_features=50_000, chars=True, dense_weight=0.0)


class Predictor:
    """A fitted system: ``tags`` for an item, ``explain`` for the features behind one field."""

    def tags(self, analysis: ItemAnalysis) -> Tags:
        raise NotImplementedError

    def explain(self, analysis: ItemAnalysis, field: str, label: str) -> list[str]:
        return []


def rule_tags(analysis: ItemAnalysis, version: str = "rules") -> Tags:
    """The rule verdicts for one item, as the tagger gave them before the learned model."""
    choice, relevance = analysis.choice, analysis.relevance
    tags = Tags(
        id=analysis.item.id,
        relevant=relevance.relevant,
        jurisdiction=choice.main,
        other_jurisdictions=choice.others,
        evidence=Evidence(jurisdiction=clip(choice.evidence)),
        tagger_version=version,
        language=analysis.language,
        reason=relevance.reason,
    )
    if relevance.relevant:
        tags.stance = analysis.stance.stance
        tags.stance_confidence = analysis.stance.confidence
        tags.event = analysis.event.event
        tags.evidence.stance = [clip(s) for s in analysis.stance.evidence]
        tags.evidence.event = clip(analysis.event.evidence)
    return tags


class RulePredictor(Predictor):
    def tags(self, analysis: ItemAnalysis) -> Tags:
        return rule_tags(analysis)

    def explain(self, analysis: ItemAnalysis, field: str, label: str) -> list[str]:
        if field == "relevant":
            r = analysis.relevance
            return [
                f"topic score {r.immigration:g}, other sense {r.other_sense:g}, reason: {r.reason or '-'}"
            ]
        if field == "stance":
            s = analysis.stance
            return [f"pro {s.pro:g} / anti {s.anti:g}, balance markers {s.balance_markers}", *s.evidence]
        if field == "event":
            scores = ", ".join(f"{e} {v:.1f}" for e, v in sorted(analysis.event.scores.items()))
            return [f"scores: {scores or 'none'}", analysis.event.evidence]
        return [analysis.choice.evidence]


def _top(model: LinearModel, terms: list[str], dense: dict[str, float], label: str) -> list[str]:
    pushes = model.contributions(terms, dense, label)[:TOP_FEATURES]
    return [f"{name} {value:+.3f}" for name, value in pushes]


class LearnedPredictor(Predictor):
    def __init__(self, model: TaggerModel, version: str = "learned") -> None:
        self.model = model
        self.version = version

    def tags(self, analysis: ItemAnalysis) -> Tags:
        return predict_tags(self.model, analysis, version=self.version)

    def explain(self, analysis: ItemAnalysis, field: str, label: str) -> list[str]:
        m = self.model
        if field == "relevant":
            text = m.relevance.terms_of_words(whole_words(analysis))
            return _top(m.relevance, text, relevance_features(analysis), label)
        evidence = self.tags(analysis).evidence
        if field == "stance":
            top = _top(
                m.stance, m.stance.terms_of_words(stance_words(analysis)), stance_features(analysis), label
            )
            return top + [f"span: {span}" for span in evidence.stance]
        if field == "event":
            top = _top(
                m.event, m.event.terms_of_words(whole_words(analysis)), event_features(analysis), label
            )
            return top + ([f"span: {evidence.event}"] if evidence.event else [])
        return [analysis.choice.evidence]


@dataclass(kw_only=True)
class BagOfWords:
    relevance: LinearModel
    stance: LinearModel
    event: LinearModel


class BagOfWordsPredictor(Predictor):
    def __init__(self, models: BagOfWords) -> None:
        self.models = models

    def tags(self, analysis: ItemAnalysis) -> Tags:
        m, text, choice = self.models, analysis.doc.lower, analysis.choice
        relevant, _ = m.relevance.predict(m.relevance.terms(text), {})
        tags = Tags(
            id=analysis.item.id,
            relevant=relevant == RELEVANT,
            jurisdiction=choice.main,
            other_jurisdictions=choice.others,
            evidence=Evidence(jurisdiction=clip(choice.evidence)),
            tagger_version="bow",
        )
        if tags.relevant:
            stance, confidence = m.stance.predict(m.stance.terms(text), {})
            tags.stance, tags.stance_confidence = cast(Stance, stance), round(confidence, 2)
            tags.event = cast(Event, m.event.predict(m.event.terms(text), {})[0])
        return tags

    def explain(self, analysis: ItemAnalysis, field: str, label: str) -> list[str]:
        model = {"relevant": self.models.relevance, "stance": self.models.stance, "event": self.models.event}
        if field not in model:
            return [analysis.choice.evidence]
        chosen = model[field]
        return _top(chosen, chosen.terms(analysis.doc.lower), {}, label)


def fit_bag_of_words(
    analyses: Sequence[ItemAnalysis], labelled: Sequence[LabelledItem], seed: int
) -> BagOfWords:
    texts = [a.doc.lower for a in analyses]
    pairs = list(zip(texts, labelled, strict=True))
    relevance = fit_linear(
        texts,
        [{} for _ in texts],
        [RELEVANT if g.relevant else NOT_RELEVANT for g in labelled],
        options=BOW_OPTIONS,
        seed=seed,
    )
    fields: list[LinearModel] = []
    for name in ("stance", "event"):
        chosen = [(t, str(getattr(g, name))) for t, g in pairs if g.relevant and getattr(g, name)]
        fields.append(
            fit_linear(
                [t for t, _ in chosen],
                [{} for _ in chosen],
                [lab for _, lab in chosen],
                options=BOW_OPTIONS,
                seed=seed,
            )
        )
    return BagOfWords(relevance=relevance, stance=fields[0], event=fields[1])


Fit = Callable[[Sequence[ItemAnalysis], Sequence[LabelledItem], int], Predictor]


def fitter(system: str) -> Fit:
    """The fit function of a system by name (``SYSTEMS``)."""
    if system == "learned":
        return lambda analyses, labelled, seed: LearnedPredictor(
            fit_tagger_model(analyses, labelled, seed=seed)
        )
    if system == "rules":
        return lambda analyses, labelled, seed: RulePredictor()
    if system == "bow":
        return lambda analyses, labelled, seed: BagOfWordsPredictor(
            fit_bag_of_words(analyses, labelled, seed)
        )
    raise ValueError(f"unknown system {system!r}; expected one of {', '.join(SYSTEMS)}")
