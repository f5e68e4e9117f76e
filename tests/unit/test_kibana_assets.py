"""The Kibana saved objects in pipeline/search/saved_objects/: they parse, ids are unique, references resolve,
every field they use exists in the mapping of the index their data view reads, with a type
that fits the use, and the dashboard shows what DESIGN promises."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from pipeline.search.kibana import KIBANA_DIR, PLACEHOLDER, saved_objects
from pipeline.settings import Settings
from pipeline.store.indices import load_template

pytestmark = pytest.mark.unit

KQL_FIELD = re.compile(r"([A-Za-z_][\w.]*)\s*:")
AGGREGATABLE = {"keyword", "boolean", "date", "integer", "long", "float", "geo_point"}


def mapping_types(name: str) -> dict[str, str]:
    def walk(properties: dict[str, Any], prefix: str = "") -> Iterator[tuple[str, str]]:
        for field, spec in properties.items():
            path = prefix + field
            if "properties" in spec:
                yield from walk(spec["properties"], path + ".")
            else:
                yield path, spec.get("type", "object")
            for sub, sub_spec in spec.get("fields", {}).items():
                yield f"{path}.{sub}", sub_spec["type"]

    return dict(walk(load_template(name)["template"]["mappings"]["properties"]))


@pytest.fixture()
def objects(offline_settings: Settings) -> dict[str, dict[str, Any]]:
    loaded = saved_objects(offline_settings)
    ids = [o["id"] for o in loaded]
    assert len(ids) == len(set(ids)), "saved object ids must be unique"
    return {o["id"]: o for o in loaded}


def views(objects: dict[str, dict[str, Any]], offline_settings: Settings) -> dict[str, dict[str, str]]:
    """data view id → field types of the index it reads."""
    out = {}
    for obj in objects.values():
        if obj["type"] == "index-pattern":
            name = obj["attributes"]["title"].removeprefix(offline_settings.index_prefix + "-")
            out[obj["id"]] = mapping_types(name)
    return out


def uses(obj: dict[str, Any]) -> Iterator[tuple[str, str, str]]:
    """(data view reference name, field, use) for every field a saved object touches."""
    attributes = obj["attributes"]
    if obj["type"] == "search":
        source = json.loads(attributes["kibanaSavedObjectMeta"]["searchSourceJSON"])
        ref = source["indexRefName"]
        for column in attributes["columns"]:
            yield ref, column, "column"
        for field, _ in attributes["sort"]:
            yield ref, field, "sort"
        for field in KQL_FIELD.findall(source["query"]["query"]):
            yield ref, field, "query"
    elif obj["type"] == "lens":
        state = attributes["state"]
        for layer_id, layer in state["datasourceStates"]["formBased"]["layers"].items():
            ref = f"indexpattern-datasource-layer-{layer_id}"
            for column in layer["columns"].values():
                if column["sourceField"] != "___records___":
                    yield ref, column["sourceField"], column["operationType"]
            for field in KQL_FIELD.findall(state["query"]["query"]):
                yield ref, field, "query"
    elif obj["type"] == "map":
        for layer in json.loads(attributes["layerListJSON"]):
            source = layer["sourceDescriptor"]
            if "indexPatternRefName" in source:
                yield source["indexPatternRefName"], source["geoField"], "geo"
                for field in KQL_FIELD.findall(layer.get("query", {}).get("query", "")):
                    yield source["indexPatternRefName"], field, "query"


def test_files_parse_and_carry_kibana_9_export_fields() -> None:
    files = sorted(KIBANA_DIR.glob("*.ndjson"))
    assert files
    for path in files:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            obj = json.loads(line)
            where = f"{path.name}:{number}"
            assert {"id", "type", "attributes", "references"} <= obj.keys(), where
            assert obj["coreMigrationVersion"] == "8.8.0", where
            assert re.fullmatch(r"\d+\.\d+\.\d+", obj["typeMigrationVersion"]), where
            assert obj["id"].startswith(PLACEHOLDER), (
                f"{where}: ids carry the prefix so deployments do not clash"
            )


def test_prefix_is_substituted_everywhere(offline_settings: Settings) -> None:
    text = json.dumps(saved_objects(offline_settings))
    assert PLACEHOLDER not in text
    assert f"{offline_settings.index_prefix}-items" in text


def test_references_resolve(objects: dict[str, dict[str, Any]]) -> None:
    for obj in objects.values():
        for ref in obj["references"]:
            assert ref["id"] in objects, f"{obj['id']} refers to missing {ref['type']} {ref['id']}"
            assert objects[ref["id"]]["type"] == ref["type"], f"{obj['id']} -> {ref['id']}: wrong type"
        names = {ref["name"] for ref in obj["references"]}
        if obj["type"] == "dashboard":
            for panel in json.loads(obj["attributes"]["panelsJSON"]):
                assert f"{panel['panelIndex']}:{panel['panelRefName']}" in names, panel
        for ref_name, _, _ in uses(obj):
            assert ref_name in names, f"{obj['id']}: no reference named {ref_name}"


def test_every_field_used_exists_with_a_fitting_type(
    objects: dict[str, dict[str, Any]], offline_settings: Settings
) -> None:
    fields_of = views(objects, offline_settings)
    for view_id, view in objects.items():
        if view["type"] == "index-pattern":
            assert fields_of[view_id][view["attributes"]["timeFieldName"]] == "date"
    checked = 0
    for obj in objects.values():
        refs = {ref["name"]: ref["id"] for ref in obj["references"]}
        for ref_name, field, use in uses(obj):
            types = fields_of[refs[ref_name]]
            assert field in types, f"{obj['id']} uses {field!r}, which the mapping of {refs[ref_name]} lacks"
            if use in ("terms", "sort"):
                assert types[field] in AGGREGATABLE, (
                    f"{obj['id']}: {field} ({types[field]}) cannot be {use}ed"
                )
            if use == "date_histogram":
                assert types[field] == "date"
            if use == "geo":
                assert types[field] == "geo_point"
            checked += 1
    assert checked > 30


def test_dashboard_shows_what_design_promises(
    objects: dict[str, dict[str, Any]], offline_settings: Settings
) -> None:
    prefix = offline_settings.index_prefix
    dashboards = [o for o in objects.values() if o["type"] == "dashboard"]
    assert len(dashboards) == 1
    panels = {ref["id"] for ref in dashboards[0]["references"]}
    assert panels == {
        f"{prefix}-lens-items-by-stance",
        f"{prefix}-map-jurisdictions",
        f"{prefix}-lens-top-jurisdictions",
        f"{prefix}-lens-top-sources",
        f"{prefix}-search-latest-stories",
    }
    by_stance = objects[f"{prefix}-lens-items-by-stance"]["attributes"]["state"]
    columns = by_stance["datasourceStates"]["formBased"]["layers"]["layer1"]["columns"]
    assert {c["sourceField"] for c in columns.values()} == {"published_at", "stance", "___records___"}
    searches = {o["attributes"]["title"] for o in objects.values() if o["type"] == "search"}
    assert {
        f"{prefix}: latest relevant items",
        f"{prefix}: relevant items by stance",
        f"{prefix}: relevant items by jurisdiction",
    } <= searches
    items_view = objects[f"{prefix}-items"]["attributes"]
    assert items_view["title"] == f"{prefix}-items" and items_view["timeFieldName"] == "published_at"
