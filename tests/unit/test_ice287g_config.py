"""Configuration of the record source kinds (287g_list, legistar) and the list-changes-only filter:
what loads, and errors that name the file, the line and the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.config import ConfigError, load_sources, load_subscriptions


def _sources(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "sources.yaml"
    path.write_text("sources:\n" + body, encoding="utf-8")
    return path


def test_the_contract_forms_load(tmp_path: Path) -> None:
    path = _sources(
        tmp_path,
        "  - {id: ice-287g-participating, kind: 287g_list, list: participating, url: 'https://ice.example/p.xlsx'}\n"
        "  - {id: ice-287g-pending, kind: 287g_list, list: pending, url: 'https://ice.example/q.xlsx'}\n"
        "  - {id: glendale-council, kind: legistar, client: glendaleca,\n"
        "     jurisdiction: {name: Glendale, type: city, state: ca}}\n"
        "  - {id: other, kind: legistar, client: x, url: 'http://127.0.0.1:8000/v1/x/',\n"
        "     jurisdiction: {name: Hudson County, type: county, state: NJ}}\n",
    )
    participating, pending, glendale, other = load_sources(path)
    assert (participating.record_list, pending.record_list) == ("participating", "pending")
    assert glendale.legistar_base == "https://webapi.legistar.com/v1/glendaleca"
    assert glendale.jurisdiction is not None and glendale.jurisdiction.state == "CA"
    assert other.legistar_base == "http://127.0.0.1:8000/v1/x"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("  - {id: a, kind: 287g_list, url: 'https://x/p.xlsx'}\n",
         "sources.yaml:2: sources[0]: a 287g_list source needs list: participating or list: pending"),
        ("  - {id: a, kind: 287g_list, list: granted, url: 'https://x/p.xlsx'}\n",
         "sources.yaml:2: sources[0].list: Input should be 'participating' or 'pending'"),
        ("  - {id: a, kind: legistar, jurisdiction: {name: G, type: city, state: CA}}\n",
         "sources.yaml:2: sources[0]: a legistar source needs client"),
        ("  - {id: a, kind: legistar, client: g,\n     jurisdiction: {name: G, type: city, state: XX}}\n",
         "sources.yaml:3: sources[0].jurisdiction.state: 'XX' is not a USPS state code"),
    ],
)  # fmt: skip
def test_errors_name_file_line_and_field(tmp_path: Path, body: str, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_sources(_sources(tmp_path, body))
    assert expected in str(caught.value)


def test_a_subscription_can_ask_for_list_changes_only(tmp_path: Path) -> None:
    path = tmp_path / "subscriptions.yaml"
    path.write_text(
        "subscriptions:\n  - {id: lists, email: a@example.org, filter: {source_kinds: [287g_list]}}\n",
        encoding="utf-8",
    )
    (subscription,) = load_subscriptions(path)
    assert subscription.filter.source_kinds == ["287g_list"]
    path.write_text("subscriptions:\n  - {id: lists, email: a@example.org, filter: {source_kinds: [pdf]}}\n")
    with pytest.raises(
        ConfigError, match=r"subscriptions.yaml:2: subscriptions\[0\].filter.source_kinds\[0\]"
    ):
        load_subscriptions(path)
