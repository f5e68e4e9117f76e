"""The learned tagger: three linear classifiers (relevance, stance, event) over rule features and
word n-grams, stored as one JSON file in ``pipeline/data/`` (see ``training`` for how it is built).

``fit_tagger_model`` is the one place every model is fitted — by ``muniwatch train`` on the whole
training file, and by cross-validation on each fold; ``predict_tags`` is the one place it is applied.
Stance and event are predicted only for items judged relevant; stance confidence is the model's
probability; evidence spans are the sentences whose terms push hardest toward the predicted label.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from pipeline.tagging.blocks import BlockOptions, fit_blocks
from pipeline.tagging.features import (
    OWN_VOICE_MIN,
    ItemAnalysis,
    event_features,
    relevance_features,
    sentence_words,
    stance_features,
    stance_words,
    whole_words,
)
from pipeline.tagging.jurisdiction import pick_jurisdiction
from pipeline.tagging.labelled import LabelledItem
from pipeline.tagging.linear import FitOptions, LinearModel, fit_linear
from pipeline.tagging.ranker import JurisdictionRanker, fit_jurisdiction_ranker
from pipeline.tagging.types import Event, Evidence, Stance, Tags

MODEL_PATH = Path(__file__).resolve().parents[1] / "data" / "tagger_model.json"
MODEL_FORMAT = 1
MAX_EVIDENCE_CHARS = 400
MAX_STANCE_EVIDENCE = 3
# The event is told in the headline and the lead: its evidence sentence is looked for there.
EVENT_EVIDENCE_SENTENCES = 12
RELEVANT, NOT_RELEVANT = "relevant", "not_relevant"

# Chosen by 5-fold cross-validation on train.jsonl (``muniwatch train`` records the scores).
# Grid: C in {0.5, 1, 4, 16}, dense weight in {0, 0.25, 0.5, 1, 2}, word 1- or 1-2-grams, with or
# without character n-grams, and the text view; the figures in the comments are CV macro-F1 / F1.
OPTIONS: dict[str, FitOptions] = {
    "relevance": FitOptions(c=4.0, max_n=1, dense_weight=0.5),  # 0.971 (no rule features: 0.960)
    "stance": FitOptions(c=4.0, max_n=1, dense_weight=0.25),  # 0.792 (own sentences only: 0.74)
}
# Event: two blocks (``blocks``): words barely penalised (C=64), the rule and cue features strongly
# (C=0.25), decision values summed half and half. Event macro-F1 by 5-fold CV on train.jsonl, fold
# seeds 12 (the reported one), 1-7: 0.623 .631 .597 .603 .650 .641 .622 .583, mean 0.619; one
# regression over both blocks (C=1024, dense weight 0.25, the model before): 0.614 .606 .582 .600
# .599 .589 .609 .573, mean 0.596 — lower on every seed. Grid (seed 12, then confirmed on the others):
# word C in {16, 64, 1024}, dense C in {0.05, 0.1, 0.25, 1, 4}, word share in {0.3, 0.5, 0.7}.
EVENT_OPTIONS = BlockOptions(
    words=FitOptions(c=64.0, max_n=2, dense_weight=0.0), dense_c=0.25, word_share=0.5
)


@dataclass(kw_only=True)
class TaggerModel:
    relevance: LinearModel
    stance: LinearModel
    event: LinearModel
    # The learned jurisdiction ranker (None: the rule resolver decides).
    jurisdiction: JurisdictionRanker | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "relevance": self.relevance.to_dict(),
            "stance": self.stance.to_dict(),
            "event": self.event.to_dict(),
            "jurisdiction": self.jurisdiction.to_dict() if self.jurisdiction else None,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TaggerModel:
        return cls(
            relevance=LinearModel.from_dict(data["relevance"]),
            stance=LinearModel.from_dict(data["stance"]),
            event=LinearModel.from_dict(data["event"]),
            jurisdiction=JurisdictionRanker.from_dict(data["jurisdiction"])
            if data.get("jurisdiction")
            else None,
        )


def fit_tagger_model(
    analyses: Sequence[ItemAnalysis],
    labelled: Sequence[LabelledItem],
    *,
    seed: int,
    options: dict[str, FitOptions] | None = None,
    event_options: BlockOptions | None = None,
) -> TaggerModel:
    """Fit the three classifiers on aligned (analysis, label) pairs; stance and event on relevant ones."""
    chosen = options or OPTIONS
    relevance = fit_linear(
        [whole_words(a) for a in analyses],
        [relevance_features(a) for a in analyses],
        [RELEVANT if gold.relevant else NOT_RELEVANT for gold in labelled],
        options=chosen["relevance"],
        seed=seed,
    )
    with_stance = [(a, g) for a, g in zip(analyses, labelled, strict=True) if g.relevant and g.stance]
    stance = fit_linear(
        [stance_words(a) for a, _ in with_stance],
        [stance_features(a) for a, _ in with_stance],
        [str(g.stance) for _, g in with_stance],
        options=chosen["stance"],
        seed=seed,
    )
    with_event = [(a, g) for a, g in zip(analyses, labelled, strict=True) if g.relevant and g.event]
    event = fit_blocks(
        [whole_words(a) for a, _ in with_event],
        [event_features(a) for a, _ in with_event],
        [str(g.event) for _, g in with_event],
        options=event_options or EVENT_OPTIONS,
        seed=seed,
    )
    jurisdiction = fit_jurisdiction_ranker([gold.raw for gold in labelled], seed=seed)
    return TaggerModel(relevance=relevance, stance=stance, event=event, jurisdiction=jurisdiction)


def clip(span: str) -> str:
    span = " ".join(span.split())
    return span if len(span) <= MAX_EVIDENCE_CHARS else span[: MAX_EVIDENCE_CHARS - 1] + "…"


def _ranked_sentences(
    model: LinearModel, analysis: ItemAnalysis, label: str, *, own_voice: bool, limit: int | None = None
) -> list[int]:
    """Sentence indexes (among the first ``limit``) whose terms push toward ``label``, strongest first."""
    pushes = []
    for index, sentence in enumerate(analysis.doc.sentences[:limit]):
        if own_voice and (sentence.voice < OWN_VOICE_MIN or sentence.attributed):
            continue
        push = model.term_push(
            model.terms_of_words(sentence_words(analysis, index, own_voice=own_voice)), label
        )
        if push > 0:
            pushes.append((-push, index))
    return [index for _push, index in sorted(pushes)]


def predict_tags(model: TaggerModel, analysis: ItemAnalysis, *, version: str) -> Tags:
    """Tags of one analysed item under ``model``."""
    # The rule resolver's choice (already in the analysis: relevance reads whether it found a place)
    # is replaced by the learned ranker's order of the same candidates when the model has one.
    item, choice = analysis.item, analysis.choice
    if model.jurisdiction is not None:
        choice = pick_jurisdiction(analysis.doc, analysis.finding, choice.candidates, model.jurisdiction)
    notes = []
    if analysis.language and analysis.language != "en":
        notes.append(f"language={analysis.language}: tagging is English-first; results may be incomplete")
    # Relevance and event read the same view (its words are listed once; relevance counts 1-grams).
    whole = whole_words(analysis)
    label, probability = model.relevance.predict(
        model.relevance.terms_of_words(whole), relevance_features(analysis)
    )
    tags = Tags(
        id=item.id,
        relevant=label == RELEVANT,
        jurisdiction=choice.main,
        other_jurisdictions=choice.others,
        evidence=Evidence(jurisdiction=clip(choice.evidence)),
        tagger_version=version,
        language=analysis.language,
        notes=notes,
        reason="" if label == RELEVANT else f"relevance model: P(not relevant) = {probability:.2f}",
    )
    if not tags.relevant:
        return tags
    stance, confidence = model.stance.predict(
        model.stance.terms_of_words(stance_words(analysis)), stance_features(analysis)
    )
    event, _ = model.event.predict(model.event.terms_of_words(whole), event_features(analysis))
    tags.stance = cast(Stance, stance)
    tags.stance_confidence = round(confidence, 2)
    tags.event = cast(Event, event)
    stance_spans = _ranked_sentences(model.stance, analysis, stance, own_voice=True)[:MAX_STANCE_EVIDENCE]
    tags.evidence.stance = [clip(analysis.doc.sentences[i].text) for i in sorted(stance_spans)]
    event_spans = _ranked_sentences(
        model.event, analysis, event, own_voice=False, limit=EVENT_EVIDENCE_SENTENCES
    )
    tags.evidence.event = clip(analysis.doc.sentences[event_spans[0]].text) if event_spans else ""
    return tags


def model_bytes(document: dict[str, Any]) -> bytes:
    """The model file's exact bytes: sorted keys, no spaces, one trailing newline (byte-identical reruns)."""
    return (json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False) + "\n").encode()


@dataclass(kw_only=True)
class LoadedModel:
    model: TaggerModel
    version: str
    metadata: dict[str, Any]


@functools.lru_cache(maxsize=4)
def load_model(path: Path = MODEL_PATH) -> LoadedModel:
    """The shipped model (read once); its version is derived from the file's SHA-256."""
    try:
        raw = path.read_bytes()
        document = json.loads(raw)
        if document.get("format") != MODEL_FORMAT:
            raise ValueError(f"format {document.get('format')!r}, expected {MODEL_FORMAT}")
        model = TaggerModel.from_dict(document["model"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise RuntimeError(
            f"cannot load the tagger model {path}: {exc} (rebuild it: muniwatch train)"
        ) from exc
    metadata = {key: value for key, value in document.items() if key != "model"}
    return LoadedModel(model=model, version=version_of(raw), metadata=metadata)


def shipped_version(path: Path = MODEL_PATH) -> str:
    """The version of the model file at ``path`` without parsing it ("…+no-model" when it is missing,
    so that importing the tagger never fails; tagging then says how to rebuild the file)."""
    try:
        return version_of(path.read_bytes())
    except OSError:
        return version_of(b"")[:-12] + "no-model"


def version_of(raw: bytes) -> str:
    """``TAGGER_VERSION``: the rules' release plus the model file's hash (a new model is a new version)."""
    return f"2026.12+{hashlib.sha256(raw).hexdigest()[:12]}"
