"""The learned jurisdiction ranker, stored in the tagger's model file (which
tests/unit/test_eval_floors.py rebuilds from train.jsonl): the shipped ranker is what training gives,
its cross-validated accuracy beats the rule resolver's, and it changes the pick where the words of
the text point to another kind of government than the rules chose."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pipeline.tagging.document import analyse
from pipeline.tagging.gazetteer import load_gazetteer
from pipeline.tagging.jurisdiction import choose_jurisdiction
from pipeline.tagging.labelled import read_labelled
from pipeline.tagging.model import load_model
from pipeline.tagging.places import find_places
from pipeline.tagging.ranker import FORMAT, JurisdictionRanker, fit_jurisdiction_ranker
from pipeline.tagging.training import default_train_path

pytestmark = pytest.mark.unit

# 5-fold CV on train.jsonl (157 items labelled relevant with a jurisdiction) at the commit that
# added the ranker: ranker 0.866, rules 0.841 (find_places given the item's URL; other fold seeds
# give 0.847-0.866); after the candidate fixes of 2026-12-03: ranker 0.892, rules 0.879. Raise when
# it improves, never lower quietly.
FLOOR_CV_ACCURACY = 0.88


@pytest.fixture(scope="module")
def trained() -> JurisdictionRanker:
    path = default_train_path()
    if path is None:
        pytest.skip("train.jsonl not found (set MUNIWATCH_EVAL_DIR)")
    return fit_jurisdiction_ranker([item.raw for item in read_labelled(path)], seed=12)


def load_default_ranker() -> JurisdictionRanker | None:
    return load_model().model.jurisdiction


def test_the_shipped_ranker_is_what_training_gives(trained: JurisdictionRanker) -> None:
    shipped = load_default_ranker()
    assert shipped is not None
    assert shipped.to_dict() == trained.to_dict(), "the shipped ranker is stale: run `muniwatch train`"


def test_cross_validated_accuracy_beats_the_rules(trained: JurisdictionRanker) -> None:
    meta = trained.meta
    assert meta["cv_accuracy"] >= FLOOR_CV_ACCURACY
    assert meta["cv_accuracy"] > meta["rule_accuracy"]


def test_shipped_ranker_round_trips_and_is_small() -> None:
    ranker = load_default_ranker()
    assert ranker is not None
    data = ranker.to_dict()
    assert JurisdictionRanker.from_dict(json.loads(json.dumps(data))).to_dict() == data
    assert len(json.dumps(data)) < 20_000
    assert len(data["meta"]["items_sha256"]) == 64


def test_a_model_of_another_format_is_refused_with_its_name() -> None:
    data = load_default_ranker().to_dict()  # type: ignore[union-attr]
    with pytest.raises(ValueError, match="format 'other/9'"):
        JurisdictionRanker.from_dict({**data, "format": "other/9"})
    with pytest.raises(ValueError, match="features differ"):
        JurisdictionRanker.from_dict({**data, "features": data["features"][:-1]})
    assert data["format"] == FORMAT


@pytest.mark.parametrize(
    ("text", "name", "state"),
    [
        (
            "Council votes on sanctuary rule\nThe Evanston City Council voted 7-2 on Monday to bar city "
            "staff from helping ICE. The mayor of Evanston, Illinois, signed the ordinance.",
            "Evanston",
            "IL",
        ),
        (
            "Senate panel advances Ohio sanctuary ban\nCOLUMBUS — An Ohio Senate committee on Wednesday "
            "approved a bill that would bar cities such as Columbus and Cleveland from limiting cooperation "
            "with ICE. The bill, SB 52, now goes to the full Senate.",
            "Ohio",
            "OH",
        ),
    ],
)
@pytest.mark.parametrize("learned", [False, True], ids=["rules", "ranker"])
def test_choice_names_the_acting_government(text: str, name: str, state: str, learned: bool) -> None:
    gaz = load_gazetteer()
    doc = analyse(title="", text=text)
    finding = find_places(doc, gaz)
    ranker = load_default_ranker() if learned else None
    choice = choose_jurisdiction(doc, finding, gaz.states_by_code, ranker=ranker)
    assert choice.main is not None
    assert (choice.main.name, choice.main.state) == (name, state)


FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "tagging"


def _jurisdiction_cases() -> list[Any]:
    cases = []
    for path in sorted(FIXTURES.rglob("*.jsonl")):
        for number, line in enumerate(path.read_text("utf-8").splitlines(), start=1):
            case = json.loads(line) if line.strip() else {}
            if case.get("expect", {}).get("jurisdiction"):
                cases.append(pytest.param(case, id=f"{path.stem}:{number}:{case['id']}"))
    return cases


@pytest.mark.parametrize("case", _jurisdiction_cases())
def test_ranker_keeps_the_fixture_jurisdictions(case: dict[str, Any]) -> None:
    """The project's own sentences name the same jurisdiction with the ranker as with the rules."""
    gaz = load_gazetteer()
    doc = analyse(title=case.get("title", ""), text=case["text"], url=case.get("url", ""))
    finding = find_places(doc, gaz, case.get("home_state"), url=case.get("url", ""))
    main = choose_jurisdiction(doc, finding, gaz.states_by_code, ranker=load_default_ranker()).main
    expect = case["expect"]
    assert main is not None, case["why"]
    assert (main.name, main.state) == (expect["jurisdiction"], expect.get("state", main.state)), case["why"]
    if "type" in expect:
        assert main.type == expect["type"], case["why"]


PIMA = (
    "Sheriff ends jail deal with ICE\nThe Pima County Sheriff said Tuesday the county jail in Tucson will "
    "stop holding detainees for ICE. Tucson police were not part of the agreement."
)


def test_ranker_keeps_the_county_the_rules_give_to_its_seat() -> None:
    """Error class (a) of issue 12: the rules score Tucson (named twice, once with its police)
    above the county whose sheriff acts; the ranker weighs "sheriff" and "jail" for the county."""
    gaz = load_gazetteer()
    doc = analyse(title="", text=PIMA)
    finding = find_places(doc, gaz)
    by_rules = choose_jurisdiction(doc, finding, gaz.states_by_code).main
    ranked = choose_jurisdiction(doc, finding, gaz.states_by_code, ranker=load_default_ranker()).main
    assert by_rules is not None and ranked is not None
    assert (by_rules.name, ranked.name, ranked.type, ranked.state) == (
        "Tucson",
        "Pima County",
        "county",
        "AZ",
    )
