"""CI quality gate: the tagger's method, cross-validated on the shared training file, must not drop
below floors; and ``muniwatch train`` must rebuild the shipped model file from that file.

The labelled files are read at run time (``$MUNIWATCH_EVAL_DIR``, ``../shared/eval``,
``../../shared/eval`` or ``/work/shared/eval``) and never copied into the project; the tests skip when
they are absent. ``dev.jsonl`` + ``seeds.jsonl`` get no floor: they are the final check nobody tunes
on (``muniwatch eval`` prints them). Floors sit a little under what the model of tagger 2026.12
achieves; raise them when the method improves, never lower one quietly.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pipeline.tagging.crossval import analyse_all, plain_report
from pipeline.tagging.labelled import eval_dir, file_sha256, read_labelled
from pipeline.tagging.model import MODEL_PATH, model_bytes
from pipeline.tagging.systems import RulePredictor
from pipeline.tagging.training import build_model_document

pytestmark = pytest.mark.unit

# Achieved (5-fold CV on train.jsonl, 187 items, seed 12): relevance F1 0.971, jurisdiction 0.904
# (0.860 before the candidate fixes of 2026-12-03: datelines, bare county names, county-possessive
# and URL cues, state action next to the topic; 0.854 before the Census-based gazetteer; the rule
# resolver alone: 0.771 before the places work), stance macro-F1 0.790, event macro-F1 0.623
# (0.614 before the two-block event fit, 0.556 before the event cues).
FLOORS = {
    "relevance_f1": 0.96,
    "jurisdiction_accuracy": 0.89,
    "stance_macro_f1": 0.78,
    "event_macro_f1": 0.62,
}


def _train_file() -> Path:
    folder = eval_dir()
    path = folder / "train.jsonl" if folder else None
    if path is None or not path.is_file():
        pytest.skip("labelled training file (shared/eval/train.jsonl) not found")
    return path


@pytest.fixture(scope="module")
def rebuilt() -> dict[str, Any]:
    """What ``muniwatch train`` writes for the shared training file (cross-validation included)."""
    return build_model_document(_train_file())


@pytest.mark.parametrize(("metric", "floor"), sorted(FLOORS.items()))
def test_cross_validated_floor(rebuilt: dict[str, Any], metric: str, floor: float) -> None:
    value = rebuilt["cross_validation"]["scores"][metric]
    assert value >= floor, f"5-fold CV {metric} {value:.3f} < floor {floor}"


def test_learned_beats_the_rules_on_stance_and_event(rebuilt: dict[str, Any]) -> None:
    train = read_labelled(_train_file())
    rules = plain_report(RulePredictor(), analyse_all(train), train, explain=False)
    scores = rebuilt["cross_validation"]["scores"]
    assert scores["stance_macro_f1"] > rules.stance.macro_f1 + 0.1
    assert scores["event_macro_f1"] > rules.event.macro_f1 + 0.05


def test_train_reproduces_the_shipped_model(rebuilt: dict[str, Any]) -> None:
    shipped = json.loads(MODEL_PATH.read_bytes())
    assert shipped["training_data"]["sha256"] == file_sha256(_train_file()), (
        "the shipped model was trained on other data: run `muniwatch train` and commit the model file"
    )
    if model_bytes(rebuilt) == MODEL_PATH.read_bytes():
        return
    # Other library versions may round a last digit differently; the model must still be the same.
    assert rebuilt["libraries"] != shipped["libraries"], "same libraries, different model file"
    for field in ("relevance", "stance", "event"):
        ours, theirs = rebuilt["model"][field], shipped["model"][field]
        assert ours["vocabulary"] == theirs["vocabulary"]
        flat_ours = [x for row in ours["coef"] for x in row]
        flat_theirs = [x for row in theirs["coef"] for x in row]
        assert flat_ours == pytest.approx(flat_theirs, abs=1e-3)
