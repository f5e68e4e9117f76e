"""The shipped gazetteer holds every county-equivalent of the Census list and the small towns of the
GeoNames data, and resolves the shapes a reporter writes ("Orleans Parish", "Juneau", "Alexandria")."""

from __future__ import annotations

import csv
import gzip
from pathlib import Path

import pytest

from pipeline.tagging import gazetteer as gazetteer_module
from pipeline.tagging.gazetteer import load_gazetteer

pytestmark = pytest.mark.unit

# County-equivalents per state in the Census list (2020 vintage: Connecticut's 8 counties, Alaska's
# 19 boroughs and 11 census areas, Virginia's 95 counties and 38 independent cities; DC is one).
CENSUS_COUNTY_EQUIVALENTS = {
    "AL": 67, "AK": 30, "AZ": 15, "AR": 75, "CA": 58, "CO": 64, "CT": 8, "DE": 3, "DC": 1, "FL": 67,
    "GA": 159, "HI": 5, "ID": 44, "IL": 102, "IN": 92, "IA": 99, "KS": 105, "KY": 120, "LA": 64,
    "ME": 16, "MD": 24, "MA": 14, "MI": 83, "MN": 87, "MS": 82, "MO": 115, "MT": 56, "NE": 93,
    "NV": 17, "NH": 10, "NJ": 21, "NM": 33, "NY": 62, "NC": 100, "ND": 53, "OH": 88, "OK": 77,
    "OR": 36, "PA": 67, "RI": 5, "SC": 46, "SD": 66, "TN": 95, "TX": 254, "UT": 29, "VT": 14,
    "VA": 133, "WA": 39, "WV": 55, "WI": 72, "WY": 23,
}  # fmt: skip


def test_every_census_county_equivalent_is_present() -> None:
    gaz = load_gazetteer()
    counts = {state: len(found) for state, found in gaz.county_equivalents.items()}
    assert counts == CENSUS_COUNTY_EQUIVALENTS
    assert sum(counts.values()) == 3143


@pytest.mark.parametrize(
    ("state", "kind", "count"),
    [
        ("LA", "county", 64),  # parishes
        ("AK", "county", 30),  # boroughs, census areas, municipalities
        ("VA", "place", 38),  # independent cities
        ("VA", "county", 95),
        ("MD", "place", 1),  # Baltimore
        ("MO", "place", 1),  # St. Louis
        ("NV", "place", 1),  # Carson City
        ("DC", "place", 1),  # Washington
    ],
)
def test_county_equivalents_by_kind(state: str, kind: str, count: int) -> None:
    found = load_gazetteer().county_equivalents[state]
    assert sum(1 for p in found if p.kind == kind) == count


@pytest.mark.parametrize(
    ("name", "state"),
    [
        ("Orleans Parish", "LA"),
        ("Terrebonne Parish", "LA"),
        ("Matanuska-Susitna Borough", "AK"),
        ("Kusilvak Census Area", "AK"),
        ("Juneau City and Borough", "AK"),
        ("Doña Ana County", "NM"),
        ("Prince George's County", "MD"),
        ("St. Louis County", "MO"),
        ("Saint Louis County", "MN"),
    ],
)
def test_county_names_resolve(name: str, state: str) -> None:
    assert state in {p.state for p in load_gazetteer().counties(name)}


@pytest.mark.parametrize(
    ("name", "state"),
    [
        ("Alexandria", "VA"),
        ("Baltimore", "MD"),
        ("Carson City", "NV"),
        ("Washington", "DC"),
        ("Fair Haven", "VT"),  # a New England town of ~2,000
        ("Lusk", "WY"),  # a county seat of ~1,500
        ("Utqiagvik", "AK"),
    ],
)
def test_small_and_independent_places_resolve(name: str, state: str) -> None:
    assert state in {p.state for p in load_gazetteer().places(name)}


def test_same_named_counties_are_ordered_by_population() -> None:
    """With nothing else to go on, Knox County is Tennessee's (Knoxville), not Texas's."""
    gaz = load_gazetteer()
    assert gaz.counties("Knox County")[0].state == "TN"
    assert gaz.counties("Gallatin County")[0].state == "MT"
    assert gaz.counties("Clark County")[0].state == "NV"


def test_places_know_their_county() -> None:
    gaz = load_gazetteer()
    knoxville = next(p for p in gaz.places("Knoxville") if p.state == "TN")
    (knox,) = [c for c in gaz.counties("Knox County") if c.state == "TN"]
    assert knoxville.county == knox.ref == "47093"
    # The Census Bureau's 2019 estimate for Knox County, Tennessee.
    assert knox.population == 470_313


def _rows(kind: str) -> list[dict[str, str]]:
    path = Path(gazetteer_module.__file__).resolve().parent.parent / "data" / "gazetteer.tsv.gz"
    with gzip.open(path, "rt", encoding="utf-8", newline="") as handle:
        return [row for row in csv.DictReader(handle, delimiter="\t") if row["kind"] == kind]


def test_counties_and_states_sit_at_their_census_polygon_centroids() -> None:
    """The map's points: every county-equivalent at the centroid of its Census polygons, not at a
    namesake town or the state's centre; the exceptions are named."""
    sources = {(r["name"], r["state"]): r["coord_source"] for k in ("county", "indcity") for r in _rows(k)}
    others = {key: source for key, source in sources.items() if source != "census-polygon"}
    assert others == {
        ("Chugach Census Area", "AK"): "census-polygon-before-split",
        ("Copper River Census Area", "AK"): "census-polygon-before-split",
        ("Falls Church city", "VA"): "namesake",
    }
    assert {r["coord_source"] for r in _rows("state")} == {"census-polygon"}
    gaz = load_gazetteer()
    (knox,) = [c for c in gaz.counties("Knox County") if c.state == "TN"]
    # Knoxville sits near the middle of the county; a centroid is within ~15 km of it.
    assert abs(knox.lat - 35.99) < 0.15 and abs(knox.lon - (-83.94)) < 0.15
    # The Aleutians cross the antimeridian: the centroid stays in the west, on the islands' side.
    (aleutians,) = [c for c in gaz.counties("Aleutians West Census Area") if c.state == "AK"]
    assert 51 < aleutians.lat < 56 and -180 < aleutians.lon < -165
