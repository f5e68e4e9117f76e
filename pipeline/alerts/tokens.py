"""Signed unsubscribe tokens: ``<subscription id>.<HMAC-SHA256(secret, id + email)>``.

The token names the subscription in clear (ids are URL-safe by construction) and carries a
signature over the id and the address it was sent to, so a token cannot be forged for another
subscription, and a token stops working when the subscription is moved to another address.
The secret comes from ``settings.unsubscribe_secret`` (MUNIWATCH_UNSUBSCRIBE_SECRET); when that is
unset one is generated once and kept in ``var/unsubscribe.key`` (mode 0600), so links in e-mails
already sent keep working across runs.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os
import re
import secrets
from pathlib import Path

from pipeline.settings import Settings

LOGGER = logging.getLogger(__name__)

KEY_FILE = "unsubscribe.key"
_SIGNATURE_CHARS = 43  # 32 bytes of HMAC-SHA256, base64url without padding
# The whole form, checked before anything else is done with a token (no lookup, no comparison:
# hmac.compare_digest raises on non-ASCII text). Subscription ids follow config's id pattern.
_TOKEN_FORM = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,79}\.[A-Za-z0-9_-]{43}$")
_MAX_TOKEN_CHARS = 200


class InvalidTokenError(ValueError):
    """The token is malformed, forged, or for a subscription that no longer exists."""


def unsubscribe_secret(settings: Settings) -> bytes:
    """The signing secret: from settings, else from (or newly written to) ``var_dir/unsubscribe.key``."""
    if settings.unsubscribe_secret:
        return settings.unsubscribe_secret.encode("utf-8")
    path = settings.var_dir / KEY_FILE
    try:
        return _read_key(path)
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        # O_EXCL: two workers starting at once must not each write a different key.
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read_key(path)
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        handle.write(secrets.token_urlsafe(32) + "\n")
    LOGGER.info(
        "generated the unsubscribe signing key in %s (set MUNIWATCH_UNSUBSCRIBE_SECRET to share it)", path
    )
    return _read_key(path)


def _read_key(path: Path) -> bytes:
    key = path.read_text(encoding="ascii").strip()
    if not key:
        raise InvalidTokenError(f"{path} is empty: delete it to generate a new unsubscribe key")
    return key.encode("ascii")


def _signature(secret: bytes, subscription_id: str, email: str) -> str:
    message = f"unsubscribe\0{subscription_id}\0{email.lower()}".encode()
    digest = hmac.new(secret, message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def make_token(secret: bytes, subscription_id: str, email: str) -> str:
    return f"{subscription_id}.{_signature(secret, subscription_id, email)}"


def check_token_form(token: object) -> str:
    """The token, stripped, when it has the form ``<subscription id>.<43 base64url chars>``
    (ASCII only); InvalidTokenError otherwise. Cheap: call it before any lookup or write."""
    if not isinstance(token, str) or len(token) > _MAX_TOKEN_CHARS or not _TOKEN_FORM.match(token.strip()):
        raise InvalidTokenError("not an unsubscribe token (expected <subscription>.<signature>)")
    return token.strip()


def token_subscription_id(token: str) -> str:
    """The subscription id a token claims (not yet verified)."""
    return check_token_form(token).rpartition(".")[0]


def verify_token(secret: bytes, token: str, email: str) -> str:
    """The subscription id when ``token`` was signed for it and ``email``; InvalidTokenError otherwise."""
    subscription_id = token_subscription_id(token)
    signature = token.strip().rpartition(".")[2]
    expected = _signature(secret, subscription_id, email)
    if not hmac.compare_digest(signature.encode("ascii"), expected.encode("ascii")):
        raise InvalidTokenError(f"the unsubscribe token for {subscription_id!r} has a wrong signature")
    return subscription_id
