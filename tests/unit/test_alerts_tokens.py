"""Unsubscribe tokens: signed for one subscription and address; the key is generated once (0600)."""

from __future__ import annotations

import stat

import pytest

from pipeline.alerts.tokens import (
    KEY_FILE,
    InvalidTokenError,
    make_token,
    token_subscription_id,
    unsubscribe_secret,
    verify_token,
)
from pipeline.settings import Settings

pytestmark = pytest.mark.unit


def test_a_token_verifies_for_its_subscription_and_address_only() -> None:
    token = make_token(b"secret", "ca-desk", "desk@example.org")
    assert token.startswith("ca-desk.")
    assert verify_token(b"secret", token, "desk@example.org") == "ca-desk"
    assert verify_token(b"secret", token, "DESK@example.org") == "ca-desk"  # addresses compare case-blind
    with pytest.raises(InvalidTokenError):
        verify_token(b"secret", token, "someone-else@example.org")
    with pytest.raises(InvalidTokenError):
        verify_token(b"other secret", token, "desk@example.org")
    forged = "ny-desk." + token.rpartition(".")[2]
    with pytest.raises(InvalidTokenError):
        verify_token(b"secret", forged, "desk@example.org")


def test_tokens_are_url_safe_and_ids_with_dots_survive() -> None:
    token = make_token(b"k", "desk.v2", "d@example.org")
    assert token_subscription_id(token) == "desk.v2"
    assert all(c.isalnum() or c in "._-" for c in token)


@pytest.mark.parametrize("bad", ["", "no-dot", ".sig", "desk.short", "desk." + "A" * 44])
def test_malformed_tokens_are_refused(bad: str) -> None:
    with pytest.raises(InvalidTokenError):
        token_subscription_id(bad)


def test_secret_from_settings_wins(offline_settings: Settings) -> None:
    settings = offline_settings.with_overrides(unsubscribe_secret="from-env")
    assert unsubscribe_secret(settings) == b"from-env"
    assert not (settings.var_dir / KEY_FILE).exists()


def test_without_a_secret_one_is_generated_once_with_mode_0600(offline_settings: Settings) -> None:
    settings = offline_settings.with_overrides(unsubscribe_secret=None)
    first = unsubscribe_secret(settings)
    path = settings.var_dir / KEY_FILE
    assert path.exists() and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(first) >= 32
    assert unsubscribe_secret(settings) == first  # links already sent keep working


def test_an_empty_key_file_is_an_error_saying_what_to_do(offline_settings: Settings) -> None:
    settings = offline_settings.with_overrides(unsubscribe_secret=None)
    settings.var_dir.mkdir(parents=True)
    (settings.var_dir / KEY_FILE).write_text("\n")
    with pytest.raises(InvalidTokenError, match="delete it"):
        unsubscribe_secret(settings)


@pytest.mark.parametrize(
    "token",
    [
        "ca-desk." + "é" * 43,
        "ca-desk." + "A" * 42 + "\u0663",
        "CA-DESK." + "A" * 43,
        "ca-desk." + "A" * 43 + "\n" + "x",
    ],
)
def test_a_token_of_the_wrong_form_is_refused_before_any_comparison(token: str) -> None:
    """Issue 17 case 9: a non-ASCII token made hmac.compare_digest raise TypeError (a traceback
    in the CLI, HTTP 500 from the endpoint)."""
    secret = b"k" * 32
    with pytest.raises(InvalidTokenError, match="not an unsubscribe token"):
        verify_token(secret, token, "desk@example.org")
