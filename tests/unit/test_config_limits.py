"""Configuration limits a careless or hostile file meets at the door (issue 17, cases 2, 3, 6, 10)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from pipeline.config import (
    MAX_CONFIG_BYTES,
    ConfigError,
    SubscriptionConfig,
    load_sources,
    load_subscriptions,
    normalise_email,
)

pytestmark = pytest.mark.unit


def test_an_idn_domain_is_delivered_in_its_ascii_form() -> None:
    assert normalise_email("desk@münchen.de") == "desk@xn--mnchen-3ya.de"
    config = SubscriptionConfig(id="munich", email="Desk@MÜNCHEN.de")
    assert config.email == "Desk@xn--mnchen-3ya.de"


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("dèsk@example.org", "before the @-sign"),  # would need SMTPUTF8
        ("desk@ex\u0430mple.org", "mixes scripts (CYRILLIC, LATIN)"),  # Cyrillic а
    ],
)
def test_addresses_that_cannot_be_delivered_as_ascii_are_refused_with_the_reason(
    address: str, reason: str
) -> None:
    with pytest.raises(ValueError, match=r".*") as raised:
        normalise_email(address)
    assert reason in str(raised.value)


def test_a_config_file_over_the_size_limit_is_refused_before_it_is_read(tmp_path: Path) -> None:
    path = tmp_path / "sources.yaml"
    with path.open("w", encoding="utf-8") as handle:
        handle.write("sources:\n")
        line = "  - {id: s, kind: rss, url: 'https://example.org/feed.xml'}\n"
        handle.write(line * (MAX_CONFIG_BYTES // len(line) + 1))
    started = time.monotonic()
    with pytest.raises(ConfigError) as raised:
        load_sources(path)
    assert time.monotonic() - started < 1.0  # refused from its size, not parsed
    (problem,) = raised.value.problems
    assert problem.startswith(f"{path}: ") and "limit for a configuration file" in problem


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ("(" * 400 + "ICE" + ")" * 400, "nests parentheses 400 deep"),
        (" ".join(f"t{i}" for i in range(600)), "has 600 terms"),
        (" OR ".join(f"term{i}" for i in range(5000)), "characters long"),
    ],
)
def test_queries_beyond_the_limits_are_a_configuration_error_not_a_traceback(
    tmp_path: Path, query: str, reason: str
) -> None:
    path = tmp_path / "subscriptions.yaml"
    path.write_text(
        f"subscriptions:\n  - id: big\n    email: desk@example.org\n    filter: {{query: '{query}'}}\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as raised:
        load_subscriptions(path)
    (problem,) = raised.value.problems
    assert f"{path}:4: subscriptions[0].filter.query:" in problem and reason in problem
