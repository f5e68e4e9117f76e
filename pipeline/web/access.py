"""From a token in a link to the subscription it was signed for, reading Elasticsearch only.

The token's form is checked first (ASCII, length, alphabet), so that nothing a client sends reaches
a comparison or Elasticsearch unless it could be a token; then the subscription is read (a GET,
never a write: no index or template is created for an unauthenticated request) and the signature
is verified against the address it was sent to.
"""

from __future__ import annotations

import re

from elasticsearch import Elasticsearch

from pipeline.alerts.subscriptions import Subscription, get_subscription
from pipeline.alerts.tokens import InvalidTokenError, token_subscription_id, unsubscribe_secret, verify_token
from pipeline.settings import Settings

# <subscription id, as config.py allows it>.<43 characters of base64url HMAC-SHA256>
TOKEN_PATTERN = re.compile(r"[a-z0-9][a-z0-9_.-]{0,79}\.[A-Za-z0-9_-]{43}")
MAX_TOKEN_LENGTH = 80 + 1 + 43


def check_token_form(token: str) -> str:
    """The subscription id a token names, once its form is right; InvalidTokenError otherwise."""
    if not token:
        raise InvalidTokenError("the link carries no token")
    if len(token) > MAX_TOKEN_LENGTH:
        raise InvalidTokenError(f"the token is {len(token)} characters long, at most {MAX_TOKEN_LENGTH}")
    if not token.isascii() or not TOKEN_PATTERN.fullmatch(token):
        raise InvalidTokenError("the token is not of the form <subscription>.<signature>")
    return token_subscription_id(token)


def authenticate(es: Elasticsearch, settings: Settings, token: str) -> Subscription:
    """The subscription ``token`` was signed for (read-only); InvalidTokenError when there is none."""
    subscription_id = check_token_form(token)
    subscription = get_subscription(es, settings, subscription_id)
    if subscription is None:
        raise InvalidTokenError(f"no subscription {subscription_id!r}")
    verify_token(unsubscribe_secret(settings), token, subscription.email)
    return subscription
