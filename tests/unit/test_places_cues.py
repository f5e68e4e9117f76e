"""The roles a candidate jurisdiction is named in, as the jurisdiction ranker reads them: only a
dateline, inside an organisation's or outlet's name, as the owner of a state government body."""

from __future__ import annotations

import pytest

from pipeline.tagging.cues import CUE_NAMES, mention_cues
from pipeline.tagging.document import analyse
from pipeline.tagging.gazetteer import load_gazetteer
from pipeline.tagging.jurisdiction import choose_jurisdiction
from pipeline.tagging.places import find_places
from pipeline.tagging.ranker import FEATURES

pytestmark = pytest.mark.unit


def _cues(text: str) -> dict[tuple[str, str], dict[str, float]]:
    """Cues per candidate (name, state) of the text."""
    gaz = load_gazetteer()
    doc = analyse(title="", text=text)
    choice = choose_jurisdiction(doc, find_places(doc, gaz), gaz.states_by_code)
    return {
        (c.place.name, c.place.state): mention_cues(doc, c.mentions, is_state=c.place.kind == "state")
        for c in choice.candidates
    }


def test_a_place_named_only_in_the_dateline_is_marked() -> None:
    cues = _cues(
        "HOUSTON – The ACLU of Texas urged the commissioners of 25 Texas counties not to renew "
        "their 287(g) agreements with ICE. The Texas Legislature passed a law in 2017."
    )
    assert cues[("Houston", "TX")]["dateline_only"] == 1.0
    assert cues[("Texas", "TX")]["dateline_only"] == 0.0


def test_a_state_inside_an_organisation_name_and_as_a_government_body() -> None:
    cues = _cues(
        "HOUSTON – The ACLU of Texas urged the commissioners of 25 Texas counties not to renew "
        "their 287(g) agreements with ICE. The Texas Legislature passed a law in 2017."
    )
    texas = cues[("Texas", "TX")]
    assert texas["in_organisation"] == pytest.approx(1 / 3)  # "ACLU of Texas" of three mentions
    assert texas["state_body"] == pytest.approx(1 / 3)  # "Texas Legislature"


def test_an_outlet_named_after_a_state_is_not_the_state_acting() -> None:
    cues = _cues(
        "The Iowa Standard was told that the Johnson County Sheriff will not honor ICE detainers. "
        "The Alaska Department of Corrections holds four people for ICE."
    )
    assert cues[("Iowa", "IA")]["in_organisation"] == 1.0
    assert cues[("Alaska", "AK")]["state_body"] == 1.0
    assert cues[("Johnson County", "IA")]["state_body"] == 0.0  # only a state owns a state body


def test_the_ranker_reads_every_cue() -> None:
    assert set(CUE_NAMES) <= set(FEATURES)
