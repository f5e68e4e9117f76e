"""Near-duplicate fingerprints and story documents, without a server."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from pipeline.stories.clustering import StoryCandidate, build_story_document, story_id_for
from pipeline.stories.fingerprints import SIGNATURE_SIZE, fingerprint, similarity

pytestmark = pytest.mark.unit


def fixture(fixtures_dir: Path, name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((fixtures_dir / "stories" / f"{name}.json").read_text(encoding="utf-8"))
    return data


def test_copies_with_other_boilerplate_are_near_duplicates(fixtures_dir: Path) -> None:
    wire, copy, rewrite, other = (
        fixture(fixtures_dir, n)
        for n in ("a1-wire", "a2-copy-valley-times", "a5-rewrite-herald", "c1-other-county-same-event")
    )
    signature = fingerprint(wire["title"], wire["text"])
    assert len(signature.minhash) == SIGNATURE_SIZE
    assert similarity(signature.minhash, signature.minhash) == 1.0
    assert similarity(signature.minhash, fingerprint(copy["title"], copy["text"]).minhash) >= 0.7
    assert 0.15 <= similarity(signature.minhash, fingerprint(rewrite["title"], rewrite["text"]).minhash) < 0.5
    assert similarity(signature.minhash, fingerprint(other["title"], other["text"]).minhash) < 0.15
    # Near-duplicates meet in at least one LSH band, which is how Elasticsearch finds them.
    assert set(signature.bands) & set(fingerprint(copy["title"], copy["text"]).bands)


def test_fingerprints_are_the_same_in_every_process() -> None:
    code = (
        "from pipeline.stories.fingerprints import fingerprint\n"
        "print(list(fingerprint('A title', 'Some text here to hash').minhash))"
    )
    other = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONHASHSEED": "123"},
    )
    assert json.loads(other.stdout) == list(fingerprint("A title", "Some text here to hash").minhash)


def test_empty_text_has_no_fingerprint() -> None:
    empty = fingerprint("", "  ")
    assert empty.minhash == () and empty.bands == ()
    assert similarity(empty.minhash, fingerprint("a", "b c d").minhash) == 0.0


def test_story_ids_are_derived_from_the_first_item() -> None:
    assert story_id_for("abc") == story_id_for("abc") != story_id_for("abd")
    assert len(story_id_for("abc")) == 32


def test_candidates_accept_the_enrich_step_mapping() -> None:
    candidate = StoryCandidate.from_mapping(
        {
            "item_id": "i1",
            "title": "t",
            "text": "x",
            "jurisdiction_key": "",
            "event": None,
            "relevant": 1,
            "published_at": "2025-03-04T05:10:00Z",
            "linked_urls": None,
            "canonical_url": "https://a.example/",
        }
    )
    assert candidate.published_at == datetime(2025, 3, 4, 5, 10, tzinfo=UTC)
    assert candidate.jurisdiction_key is None and candidate.relevant and candidate.linked_urls == []


def item(n: int, **fields: Any) -> dict[str, Any]:
    return {
        "_id": f"i{n}",
        "title": f"title {n}",
        "url": f"https://n{n}.example/",
        "source_id": f"s{n % 2}",
        "published_at": f"2025-03-0{n}T00:00:00+00:00",
        "indexed_at": f"2025-03-0{n}T01:00:00+00:00",
        "relevant": True,
        "kind": "article",
        **fields,
    }


HV = {
    "name": "Harbor Vale",
    "type": "city",
    "state": "CA",
    "key": "us-ca-city-harbor-vale",
    "label": "Harbor Vale, CA",
}
PC = {"name": "Pinecrest County", "type": "county", "state": "CA", "key": "us-ca-county-pinecrest"}


def test_story_document_takes_the_majority_of_relevant_items() -> None:
    items = [
        item(3, jurisdiction=HV, event="terminate", stance="neutral", evidence={"event": "voted to end"}),
        item(1, jurisdiction=PC, event="vote_or_proposal", stance="pro_cooperation", relevant=False),
        item(2, jurisdiction=HV, event="terminate", stance="anti_cooperation", kind="post"),
        item(4, jurisdiction=PC, event="terminate", stance="neutral"),
    ]
    doc = build_story_document("s", items, now=datetime(2025, 3, 9, tzinfo=UTC))
    assert doc["jurisdiction"] == HV and doc["event"] == "terminate"
    assert doc["event_sentence"] == "voted to end"
    assert doc["stance_counts"] == {"pro_cooperation": 0, "anti_cooperation": 1, "neutral": 2}
    assert doc["stances"] == ["anti_cooperation", "neutral"]
    assert doc["item_ids"] == ["i1", "i2", "i3", "i4"]  # oldest first
    assert (doc["item_count"], doc["relevant_item_count"]) == (4, 3)
    assert doc["title"] == "title 3"  # the first relevant article, not the post
    assert doc["source_ids"] == ["s1", "s0"]
    assert (doc["first_seen"], doc["last_seen"]) == ("2025-03-01T00:00:00+00:00", "2025-03-04T00:00:00+00:00")
    assert doc["first_indexed_at"] == "2025-03-01T01:00:00+00:00"
    assert doc["relevant"] is True and doc["updated_at"] == "2025-03-09T00:00:00+00:00"


def test_a_story_of_irrelevant_items_says_so() -> None:
    doc = build_story_document(
        "s", [item(1, relevant=False, jurisdiction=None, event=None)], now=datetime(2025, 3, 9, tzinfo=UTC)
    )
    assert doc["relevant"] is False and doc["jurisdiction"] is None and doc["event"] is None
    assert doc["stance_counts"] == {"pro_cooperation": 0, "anti_cooperation": 0, "neutral": 0}
