"""Targeted tests of the tagger's behaviours (the labelled sentences live in tests/fixtures/tagging)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from bench.tagging import measure_tag_rate, synthetic_items
from pipeline.tagging import TAGGER_VERSION, TagInput, Tags, tag_item
from pipeline.tagging.commands import run_eval, run_tag
from pipeline.tagging.document import analyse, find_quotes, words
from pipeline.tagging.evaluate import LabelledItem, class_metrics, evaluate_items, format_table
from pipeline.tagging.gazetteer import load_gazetteer
from pipeline.tagging.language import detect_language
from pipeline.tagging.lexicons import PhraseMatcher
from pipeline.tagging.places import find_places

pytestmark = pytest.mark.unit

REPORT = (
    "The Marion County Board of Commissioners voted on Tuesday to end the jail's contract to hold "
    "ICE detainees, the Oregon county said."
)


def _tag(text: str, title: str = "", **kwargs: str) -> Tags:
    return tag_item(TagInput(id="t", title=title, text=text, **kwargs))


def test_quoted_framing_does_not_decide_stance() -> None:
    loaded = "This dangerous decision shields criminal illegal aliens and endangers public safety."
    quoted = _tag(f'{REPORT} "{loaded}" said a commissioner who voted no.')
    own_voice = _tag(f"{REPORT} {loaded}")
    assert quoted.stance == "neutral"
    assert own_voice.stance == "pro_cooperation"


def test_attributed_claim_does_not_decide_stance() -> None:
    tags = _tag(f"{REPORT} Critics said the contract led to racial profiling and tore families apart.")
    assert tags.stance == "neutral"


def test_headline_framing_counts() -> None:
    plain = _tag(REPORT)
    framed = _tag(REPORT, title="Victory for immigrant families as Marion County cuts ties with ICE")
    assert plain.stance == "neutral"
    assert framed.stance == "anti_cooperation"
    assert framed.evidence.stance and "Victory" in framed.evidence.stance[0]


def test_balanced_report_is_neutral() -> None:
    text = (
        f"{REPORT} Supporters argue the change restores community trust and protects immigrant families. "
        "Critics argue it releases criminals and endangers public safety. On the other hand, the sheriff "
        "said felony warrants will still be honored."
    )
    assert _tag(text).stance == "neutral"


def test_glendale_california_not_arizona() -> None:
    base = "Glendale will no longer house ICE detainees in its city jail, officials said."
    assert _tag(base.replace("Glendale", "Glendale, Calif.,", 1)).jurisdiction.state == "CA"  # type: ignore[union-attr]
    assert _tag(base + " The Los Angeles County city made the change Monday.").jurisdiction.state == "CA"  # type: ignore[union-attr]
    assert _tag(base, home_state="CA").jurisdiction.state == "CA"  # type: ignore[union-attr]
    assert _tag(base.replace("Glendale", "Glendale, Ariz.,", 1)).jurisdiction.state == "AZ"  # type: ignore[union-attr]


def test_county_naming_and_type() -> None:
    tags = _tag(
        "The Hudson County freeholders voted to end the county jail's contract with ICE,"
        " New Jersey officials said."
    )
    assert tags.jurisdiction is not None
    assert (tags.jurisdiction.name, tags.jurisdiction.type, tags.jurisdiction.state) == (
        "Hudson County",
        "county",
        "NJ",
    )
    assert tags.jurisdiction.key == "us-nj-county-hudson"


def test_person_named_like_a_city_is_not_a_place() -> None:
    tags = _tag(
        "Sheriff Lee Houston of Madison County, Alabama, said Thursday the jail will keep honoring ICE "
        "detainers. Houston said the policy has not changed."
    )
    assert tags.jurisdiction is not None and tags.jurisdiction.name == "Madison County"
    assert all(o.name != "Houston" for o in tags.other_jurisdictions)


@pytest.mark.parametrize(
    ("residents", "state"), [("Ohioans", "OH"), ("Residents", "MO"), ("Illinoisans", "IL")]
)
def test_residents_named_by_state_pick_the_place(residents: str, state: str) -> None:
    """A demonym names the state ("Ohioans"); without one the largest Springfield (Missouri) wins."""
    doc = analyse(title="", text=f"{residents} packed the Springfield City Council meeting on Tuesday.")
    finding = find_places(doc, load_gazetteer())
    assert [(m.surface, m.resolved.state if m.resolved else None) for m in finding.mentions] == [
        ("Springfield", state)
    ]


@pytest.mark.parametrize(
    "text",
    [
        "An ice storm closed roads across Polk County, Iowa, and the county declared an emergency.",
        "The Fargo City Council approved a new contract for the ice rink at the community center.",
        "ICE Futures Europe said trading volumes rose; Intercontinental Exchange shares gained on the NYSE.",
        "ICE agents made more arrests nationwide this year, the Department of Homeland Security said.",
    ],
)
def test_not_relevant(text: str) -> None:
    tags = _tag(text)
    assert tags.relevant is False
    assert tags.stance is None and tags.stance_confidence is None and tags.event is None


def test_json_shape_matches_design() -> None:
    tags = _tag(
        "SANTA ANA, Calif. — The City of Santa Ana ended its contract to hold ICE detainees, and "
        "Orange County officials said they were reviewing their own jail agreement."
    )
    out = tags.to_json_dict()
    assert set(out) == {
        "id",
        "relevant",
        "jurisdiction",
        "other_jurisdictions",
        "stance",
        "stance_confidence",
        "event",
        "evidence",
        "tagger_version",
    }
    assert set(out["jurisdiction"]) == {"name", "type", "state", "lat", "lon", "key"}
    assert all(set(o) == {"name", "type", "state"} for o in out["other_jurisdictions"])
    assert set(out["evidence"]) == {"jurisdiction", "stance", "event"}
    assert isinstance(out["evidence"]["stance"], list)
    assert out["tagger_version"] == TAGGER_VERSION
    assert 0.0 <= out["stance_confidence"] <= 1.0
    json.dumps(out)


def test_deterministic() -> None:
    item = synthetic_items(1)[0]
    assert tag_item(item).to_json_dict() == tag_item(item).to_json_dict()


def test_non_english_is_flagged() -> None:
    text = (
        "El concejo municipal de Santa Ana votó para terminar el contrato con ICE que permitía detener a "
        "inmigrantes en la cárcel de la ciudad, según los funcionarios."
    )
    out = _tag(text).to_json_dict()
    assert out["language"] == "es"
    assert "English-first" in out["notes"][0]
    assert detect_language("The county said that it would end the contract with the agency.") == "en"


def test_find_quotes_and_voice() -> None:
    text = "He called it ‘sanctuary’ policy. “It is wrong,” she said. The county’s jail is full."
    spans = [text[a:b] for a, b in find_quotes(text)]
    assert "‘sanctuary’" in spans and "“It is wrong,”" in spans
    assert all("county’s" not in s for s in spans)
    doc = analyse(title="", text="A plain sentence here. Critics said the plan was bad.")
    assert doc.sentences[0].voice == 1.0 and doc.sentences[1].attributed


@pytest.mark.parametrize(
    "text",
    [
        'He said "we will end it." Then: the 287 (g) deal ends.\n\n— Ann Lee (@ann) June 9, 2025',
        "The mayors’ plan… ‘It’s over’, she said.Next Gov. Smith (R) spoke?! Yes.\n\n\n  \n2025",
        "“An unclosed quote runs to the end of the paragraph\nU.S. agents [ICE] arrived.",
        *(item.text for item in synthetic_items(3)),
    ],
)
def test_sentence_words_are_the_texts_words(text: str) -> None:
    """The words read per sentence (for the classifiers and evidence) are all of the text's words."""
    doc = analyse(title="Sheriff ends 287(g) pact", text=text)
    assert doc.words == words(doc.lower)
    assert doc.own_words == words(doc.masked_lower)


def test_phrases_match_whole_words_only() -> None:
    matcher = PhraseMatcher(((r"illegal aliens?", 2.0), (r"humane", 1.0)))
    text = "inhumane talk of illegal aliens; a humane policy; illegal aliensx"
    assert [(text[a:b], w) for a, b, w in matcher.finditer(text)] == [
        ("illegal aliens", 2.0),
        ("humane", 1.0),
    ]


def test_gazetteer_contents() -> None:
    gaz = load_gazetteer()
    assert gaz is load_gazetteer()
    assert len(gaz.states_by_code) == 51
    assert {p.state for p in gaz.places("Glendale")} >= {"CA", "AZ"}
    orleans = gaz.counties("Orleans Parish")
    assert orleans and orleans[0].type == "county" and orleans[0].state == "LA"
    assert gaz.counties("LA County")[0].name == "Los Angeles County"


def test_run_tag_reports_bad_lines_and_continues() -> None:
    lines = [
        json.dumps({"id": "a", "text": REPORT}),
        "{not json",
        json.dumps({"id": "c"}),
        json.dumps({"id": "d", "text": "An ice storm hit Duluth."}),
    ]
    out, err = io.StringIO(), io.StringIO()
    code = run_tag(io.StringIO("\n".join(lines) + "\n"), out, err)
    results = [json.loads(line) for line in out.getvalue().splitlines()]
    assert code == 1
    assert [r["id"] for r in results] == ["a", "d"]
    assert "line 2" in err.getvalue() and "line 3" in err.getvalue() and "'text'" in err.getvalue()
    assert "2 failed" in err.getvalue()


def test_run_tag_all_good_exits_zero() -> None:
    out = io.StringIO()
    assert run_tag(io.StringIO(json.dumps({"id": 7, "text": REPORT}) + "\n"), out, io.StringIO()) == 0
    assert json.loads(out.getvalue())["id"] == "7"


def _labelled(**kw: object) -> LabelledItem:
    base: dict[str, object] = {
        "id": "x",
        "text": REPORT,
        "relevant": True,
        "jurisdiction": "Marion County",
        "jurisdiction_type": "county",
        "state": "OR",
        "other_jurisdictions": [],
        "stance": "neutral",
        "event": "terminate",
    }
    base.update(kw)
    return LabelledItem.from_json(base)


def test_evaluate_items_and_table() -> None:
    report = evaluate_items(
        [
            _labelled(),
            _labelled(
                id="n", text="An ice storm hit Duluth, Minnesota.", relevant=False, stance=None, event=None
            ),
        ]
    )
    assert report.relevance_f1 == 1.0 and report.negatives_rejected == 1.0
    assert report.jurisdiction_accuracy == 1.0 and report.state_accuracy == 1.0
    assert report.stance.macro_f1 == 1.0 and report.event.macro_f1 == 1.0
    table = format_table(report)
    assert "relevance F1" in table and "stance confusion" in table
    assert json.loads(json.dumps(report.to_json_dict()))["relevance"]["f1"] == 1.0


def test_class_metrics_counts_missing_prediction_as_miss() -> None:
    metrics = class_metrics(
        [("pro_cooperation", "pro_cooperation"), ("neutral", None), ("neutral", "neutral")]
    )
    assert metrics.per_label_f1 == {"neutral": pytest.approx(0.6667), "pro_cooperation": 1.0}
    assert metrics.confusion["neutral"] == {"none": 1, "neutral": 1}


def test_run_eval_json_and_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MUNIWATCH_EVAL_DIR", str(tmp_path / "no-shared-data"))  # no training file
    path = tmp_path / "l.jsonl"
    path.write_text(json.dumps(_labelled().raw) + "\n", "utf-8")
    out = io.StringIO()
    assert run_eval([str(path)], True, out, io.StringIO()) == 0
    result = json.loads(out.getvalue())
    assert result["check_items"] == 1 and set(result["systems"]) == {"learned", "rules"}
    assert result["systems"]["rules"]["check"]["report"]["n_items"] == 1
    assert "no training file" in result["notes"][0]
    err = io.StringIO()
    assert run_eval([str(path) + ".missing"], False, io.StringIO(), err) == 2
    assert "missing" in err.getvalue()


def test_bench_rate_is_positive() -> None:
    assert measure_tag_rate(n_items=5) > 0
