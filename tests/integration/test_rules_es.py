"""A rule finds the same documents in Elasticsearch (``to_es_query``) as it matches in Python.

Only case-insensitive rules here: the ``standard`` analyzer lowercases, so the case-sensitive
capitals of the Python matcher are a documented difference (see pipeline/rules/language.py).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from elasticsearch import Elasticsearch

from pipeline.rules.language import parse_rule
from pipeline.settings import Settings
from pipeline.store.indices import ensure_index

pytestmark = pytest.mark.integration

DOCS = {
    "a": ("County ends contract with immigration agency", "The county jail will stop holding detainees."),
    "b": ("Sanctuary city vote", "The council voted 4-1 on the sanctuary policy."),
    "c": ("Council debates 287(g) renewal", "Sheriff wants to renew the 287(g) agreement."),
    "d": ("Ice storm closes schools", "Roads in the county are closed."),
    "e": ("A sanctuary for birds", "Far away from the big and very noisy crowded city streets."),
    "f": ("Immigration detention in the county jail", ""),
    "g": ("Secure Communities returns", "The program shares fingerprints with the federal government."),
}

RULES = [
    "contract",
    '"county jail"',
    "287(g)",
    "county AND NOT ice",
    "sanctuary NEAR/5 (city OR county OR policy)",
    "sanctuary NEAR/1 city",
    '"immigration detention" AND (county OR city OR jail)',
    '"immigration detention" NEAR/3 "county jail"',
    "(renew OR renewal) NEAR/4 287(g)",
    '"secure communities" OR detainees',
    "NOT county",
    "council voted NOT storm",
]


@pytest.fixture()
def docs_index(es: Elasticsearch, settings: Settings) -> Iterator[str]:
    index = f"{settings.index_prefix}-rules-parity"
    es.indices.create(
        index=index,
        mappings={
            "properties": {
                "title": {"type": "text", "analyzer": "standard"},
                "text": {"type": "text", "analyzer": "standard"},
            }
        },
    )
    for doc_id, (title, text) in DOCS.items():
        es.index(index=index, id=doc_id, document={"title": title, "text": text})
    es.indices.refresh(index=index)
    yield index
    es.indices.delete(index=index)


@pytest.mark.parametrize("text", RULES)
def test_search_finds_what_the_rule_matches(es: Elasticsearch, docs_index: str, text: str) -> None:
    rule = parse_rule(text)
    expected = {doc_id for doc_id, (title, body) in DOCS.items() if rule.matches(title, body)}
    response = es.search(index=docs_index, query=rule.to_es_query(["title", "text"]), size=100)
    found = {hit["_id"] for hit in response["hits"]["hits"]}
    assert found == expected


def test_capitals_stay_case_sensitive_in_elasticsearch(es: Elasticsearch, settings: Settings) -> None:
    """`ICE` in a search or a subscription query does not find "ice", as in the watchlists."""
    ensure_index(es, settings, "items")
    documents = {
        "contract": ("County ends ICE contract", "The jail will no longer hold detainees."),
        "possessive": ("Sheriff leaves ICE's program", "Deputies end the 287(g) work."),
        "storm": ("Ice storm closes the jail road", "An ice storm hit the county jail."),
    }
    for key, (title, text) in documents.items():
        es.index(index=settings.index("items"), id=key, document={"title": title, "text": text})
    es.indices.refresh(index=settings.index("items"))

    def found(rule: str) -> set[str]:
        query = parse_rule(rule).to_es_query(["title", "text"])
        hits = es.search(index=settings.index("items"), query=query)["hits"]["hits"]
        return {hit["_id"] for hit in hits}

    assert found("ICE") == {"contract", "possessive"}
    assert found("ICE AND jail") == {"contract"}
    assert found("ice") >= {"contract", "storm"}  # lowercase: any case
    assert found('"ice storm"') == {"storm"}
    assert found("ICE NEAR/5 road") == set()  # "Ice" is not "ICE"
    assert found("ice NEAR/5 road") == {"storm"}
