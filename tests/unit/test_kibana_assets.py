"""The Kibana saved objects in pipeline/search/saved_objects/: they parse, ids are unique, references resolve,
every field they use exists in the mapping of the index their data view reads, with a type
that fits the use, and the dashboard shows what DESIGN promises."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from pipeline.models import EVENTS
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
                for secondary in column.get("params", {}).get("secondaryFields", []):
                    yield ref, secondary, column["operationType"]
            for field in KQL_FIELD.findall(state["query"]["query"]):
                yield ref, field, "query"
    elif obj["type"] == "map":
        for layer in json.loads(attributes["layerListJSON"]):
            source = layer["sourceDescriptor"]
            if "indexPatternRefName" in source:
                ref = source["indexPatternRefName"]
                yield ref, source["geoField"], "geo"
                for field in KQL_FIELD.findall(layer.get("query", {}).get("query", "")):
                    yield ref, field, "query"
                for key in ("topHitsSplitField", "sortField"):
                    if key in source:
                        yield ref, source[key], "terms"
                for field in source.get("tooltipProperties", []):
                    yield ref, field, "column"
    elif obj["type"] == "dashboard" and "controlGroupInput" in attributes:
        for control_id, control in json.loads(attributes["controlGroupInput"]["panelsJSON"]).items():
            yield (
                f"controlGroup_{control_id}:optionsListDataView",
                control["explicitInput"]["fieldName"],
                "terms",
            )


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
    checked = record_fields = 0
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
            record_fields += field.startswith("record.")
    assert checked > 30
    # The 287(g) panel's fields (``record.*``) are checked against the items mapping like any other.
    assert record_fields >= 1


def test_the_287g_panel_breaks_down_by_a_mapped_keyword_of_the_record() -> None:
    types = mapping_types("items")
    assert types["record.support_model"] == "keyword" and types["source_kind"] == "keyword"


def test_dashboard_shows_what_design_promises(
    objects: dict[str, dict[str, Any]], offline_settings: Settings
) -> None:
    prefix = offline_settings.index_prefix
    dashboards = [o for o in objects.values() if o["type"] == "dashboard"]
    assert len(dashboards) == 1
    dashboard = dashboards[0]
    panels = {ref["id"] for ref in dashboard["references"] if ref["type"] != "index-pattern"}
    assert panels == {
        f"{prefix}-note-stance",
        f"{prefix}-lens-items-by-stance",
        f"{prefix}-lens-items-by-event",
        f"{prefix}-lens-items-by-state",
        f"{prefix}-map-jurisdictions",
        f"{prefix}-lens-top-jurisdictions",
        f"{prefix}-lens-top-sources",
        f"{prefix}-lens-287g-list-changes",
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


def _lens_fields(obj: dict[str, Any]) -> list[str]:
    layer = obj["attributes"]["state"]["datasourceStates"]["formBased"]["layers"]["layer1"]
    columns = [layer["columns"][c] for c in layer["columnOrder"]]
    return [
        field
        for c in columns
        for field in [c["sourceField"], *c.get("params", {}).get("secondaryFields", [])]
    ]


def test_analysts_get_event_and_state_breakdowns_and_a_search_per_event(
    objects: dict[str, dict[str, Any]], offline_settings: Settings
) -> None:
    prefix = offline_settings.index_prefix
    assert _lens_fields(objects[f"{prefix}-lens-items-by-event"]) == [
        "published_at",
        "event",
        "___records___",
    ]
    assert _lens_fields(objects[f"{prefix}-lens-items-by-state"]) == [
        "jurisdiction.state",
        "event",
        "___records___",
    ]
    lists = objects[f"{prefix}-lens-287g-list-changes"]
    assert _lens_fields(lists) == [
        "published_at",
        "record.support_model",
        "jurisdiction.state",
        "___records___",
    ]
    assert lists["attributes"]["state"]["query"]["query"] == "source_kind:287g_list"
    per_event = {
        json.loads(o["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"])["query"]["query"]
        for o in objects.values()
        if o["type"] == "search" and o["id"].startswith(f"{prefix}-search-event-")
    }
    assert per_event == {f"relevant:true and event:{event}" for event in EVENTS}


def test_dashboard_has_controls_and_says_what_stance_measures(
    objects: dict[str, dict[str, Any]], offline_settings: Settings
) -> None:
    prefix = offline_settings.index_prefix
    dashboard = objects[f"{prefix}-dashboard"]["attributes"]
    controls = json.loads(dashboard["controlGroupInput"]["panelsJSON"])
    assert [c["explicitInput"]["fieldName"] for c in sorted(controls.values(), key=lambda c: c["order"])] == [
        "jurisdiction.state",
        "stance",
        "event",
        "source_kind",
    ]
    assert {c["type"] for c in controls.values()} == {"optionsListControl"}
    note = json.loads(objects[f"{prefix}-note-stance"]["attributes"]["visState"])
    assert note["type"] == "markdown"
    assert "coverage's own voice, not the jurisdiction's position" in note["params"]["markdown"]
    grid = [p["gridData"] for p in json.loads(dashboard["panelsJSON"])]
    cells = {
        (x, y) for g in grid for x in range(g["x"], g["x"] + g["w"]) for y in range(g["y"], g["y"] + g["h"])
    }
    assert len(cells) == sum(g["w"] * g["h"] for g in grid), "panels do not overlap"
    assert all(g["x"] + g["w"] <= 48 for g in grid), "the grid is 48 columns wide"


def test_map_shows_one_point_per_jurisdiction(
    objects: dict[str, dict[str, Any]], offline_settings: Settings
) -> None:
    layers = json.loads(
        objects[f"{offline_settings.index_prefix}-map-jurisdictions"]["attributes"]["layerListJSON"]
    )
    (points,) = [layer for layer in layers if "indexPatternRefName" in layer["sourceDescriptor"]]
    source = points["sourceDescriptor"]
    assert source["type"] == "ES_SEARCH" and source["scalingType"] == "TOP_HITS", "documents, not grid cells"
    assert (source["topHitsSplitField"], source["topHitsSize"]) == ("jurisdiction.key", 1)
    assert source["geoField"] == "jurisdiction.location"
