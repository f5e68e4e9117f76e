"""X accounts (``x_account``) and X recent searches (``x_search``) through tweepy's v2 Client.

Each tweet becomes a post entry (author, handle, text, time, post URL
``https://x.com/<handle>/status/<id>``) carrying the article URLs it links to (``expanded_url``
from its entities, minus links back into X), which polling enqueues as items too.

* Cursor: the newest tweet id seen is the source's ``cursor``; the next poll asks only for
  tweets ``since_id`` it, following ``next_token`` pages (at most ``MAX_PAGES``). A first poll
  reads one page, so adding an account does not backfill its whole history.
* Rate limits: a 429 is not slept through inside a task (tweepy's ``wait_on_rate_limit`` could
  block a worker for 15 minutes); it becomes a FetchError with ``retry_after_s`` taken from
  ``x-rate-limit-reset``, and the source is backed off until then.
* The bearer token comes from settings (``MUNIWATCH_X_BEARER_TOKEN``, or the Airflow connection
  that ``dags/`` maps onto it); ``pipeline.sources.polling`` skips X sources with one warning without it.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import requests
import tweepy

from pipeline.config import SourceConfig
from pipeline.fetch.client import ConnectFailed, FetchError, HTTPStatusError
from pipeline.models import FeedEntry, PostInfo
from pipeline.settings import Settings
from pipeline.sources.harvest import Harvest
from pipeline.sources.state import SourceState
from pipeline.sources.urls import URLError, canonical_url

LOGGER = logging.getLogger(__name__)

MAX_PAGES = 5
PAGE_SIZE = 100
SEARCH_PAGE_SIZE = 100
TWEET_FIELDS = ["created_at", "entities", "author_id", "lang", "conversation_id"]
USER_FIELDS = ["name", "username"]
_X_HOSTS = frozenset({"x.com", "twitter.com", "www.x.com", "www.twitter.com", "mobile.twitter.com", "t.co"})
TITLE_CHARS = 140


def make_x_client(settings: Settings, *, session: requests.Session | None = None) -> tweepy.Client:
    """A tweepy v2 Client with the bearer token; ``session`` replaces its requests session (tests)."""
    client = tweepy.Client(bearer_token=settings.x_bearer_token, wait_on_rate_limit=False)
    if session is not None:
        client.session = session
    return client


def _error(error: Exception, source: SourceConfig, now: datetime) -> FetchError:
    """tweepy's exceptions as the pipeline's FetchErrors, with reasons a user can act on."""
    what = f"X {source.kind.replace('x_', '')} {source.x_handle or source.query!r}"
    if isinstance(error, tweepy.TooManyRequests):
        reset = getattr(error, "reset_time", None)
        if reset is None:
            reset_header = error.response.headers.get("x-rate-limit-reset")
            reset = int(reset_header) if reset_header and reset_header.isdigit() else None
        # The reset is an epoch time; the wait is measured from this poll's time.
        wait = max(0.0, float(reset) - now.timestamp()) if reset is not None else 900.0
        return HTTPStatusError(
            f"{what}: X API rate limit reached; retry after {wait:.0f}s", status=429, retry_after_s=wait
        )
    if isinstance(error, tweepy.Unauthorized):
        return FetchError(
            f"{what}: X API refused the bearer token (401); check MUNIWATCH_X_BEARER_TOKEN", status=401
        )
    if isinstance(error, tweepy.Forbidden):
        return FetchError(f"{what}: X API forbids this request (403): {error}", status=403)
    if isinstance(error, tweepy.NotFound):
        return FetchError(f"{what}: not found on X (404)", status=404)
    if isinstance(error, tweepy.TwitterServerError):
        return HTTPStatusError(f"{what}: X API server error ({error.response.status_code})",
                               status=error.response.status_code)  # fmt: skip
    if isinstance(error, tweepy.HTTPException):
        return FetchError(f"{what}: X API error ({error.response.status_code}): {error}",
                          status=error.response.status_code)  # fmt: skip
    if isinstance(error, requests.Timeout):
        return ConnectFailed(f"{what}: X API timed out")
    return ConnectFailed(f"{what}: cannot reach the X API: {error}")


def _linked_urls(tweet: Any) -> list[str]:
    urls: list[str] = []
    for entity in (tweet.entities or {}).get("urls", []) or []:
        expanded = entity.get("unwound_url") or entity.get("expanded_url") or entity.get("url")
        if not expanded:
            continue
        host = (urlsplit(expanded).hostname or "").lower()
        if host in _X_HOSTS or not expanded.startswith(("http://", "https://")):
            continue  # pictures, quoted tweets, links back into X
        if expanded not in urls:
            urls.append(expanded)
    return urls


def tweet_entry(tweet: Any, user: Any | None, source: SourceConfig) -> FeedEntry | None:
    """A tweet as a post entry; None when its author is unknown (no handle, no post URL)."""
    handle = getattr(user, "username", None) or (source.x_handle if source.kind == "x_account" else None)
    if not handle:
        return None
    name = getattr(user, "name", None) or handle
    url = f"https://x.com/{handle}/status/{tweet.id}"
    text = " ".join(str(tweet.text or "").split())
    created = tweet.created_at
    if created is not None and created.tzinfo is None:
        created = created.replace(tzinfo=UTC)
    try:
        canonical = canonical_url(url)
    except URLError:  # pragma: no cover - the URL is built above
        return None
    title = text if len(text) <= TITLE_CHARS else text[:TITLE_CHARS].rsplit(" ", 1)[0] + "…"
    return FeedEntry(
        source_id=source.id,
        source_kind=source.kind,
        url=url,
        canonical_url=canonical,
        title=title,
        summary=text,
        published_at=created,
        guid=str(tweet.id),
        author=name,
        home_state=source.home_state,
        post=PostInfo(
            platform="x", post_id=str(tweet.id), author=name, handle=handle, text=text,
            linked_urls=_linked_urls(tweet),
        ),
    )  # fmt: skip


def harvest_x(client: tweepy.Client, source: SourceConfig, state: SourceState, *, now: datetime) -> Harvest:
    """Tweets newer than the source's cursor, as post entries. Raises FetchError."""
    since_id = state.cursor or None
    params: dict[str, Any] = {
        "tweet_fields": TWEET_FIELDS,
        "expansions": ["author_id"],
        "user_fields": USER_FIELDS,
    }
    if since_id:
        params["since_id"] = since_id
    try:
        if source.kind == "x_account":
            user = client.get_user(username=source.x_handle, user_fields=USER_FIELDS)
            if user.data is None:
                raise FetchError(f"X account @{source.x_handle} not found")
            fetch = client.get_users_tweets
            first_arg: dict[str, Any] = {"id": user.data.id, "max_results": PAGE_SIZE}
        else:
            fetch = client.search_recent_tweets
            first_arg = {"query": source.query, "max_results": SEARCH_PAGE_SIZE}
        tweets: list[Any] = []
        users: dict[str, Any] = {}
        newest: str | None = None
        token: str | None = None
        for _ in range(MAX_PAGES if since_id else 1):
            page_params = {**first_arg, **params}
            if token:
                page_params["pagination_token" if source.kind == "x_account" else "next_token"] = token
            response = fetch(**page_params)
            for included in (response.includes or {}).get("users", []):
                users[str(included.id)] = included
            tweets.extend(response.data or [])
            meta = response.meta or {}
            newest = newest or meta.get("newest_id")
            token = meta.get("next_token")
            if not token:
                break
    except FetchError:
        raise
    except (tweepy.TweepyException, requests.RequestException) as error:
        raise _error(error, source, now) from error

    entries = []
    skipped = 0
    for tweet in tweets:
        entry = tweet_entry(tweet, users.get(str(tweet.author_id)), source)
        if entry is None:
            skipped += 1
        else:
            entries.append(entry)
    if tweets and newest is None:
        newest = max((str(t.id) for t in tweets), key=lambda i: (len(i), i))
    problem = f"{skipped} tweet(s) without a known author were left out" if skipped else None
    LOGGER.info("X source %s: %d tweets since %s", source.id, len(tweets), since_id or "the start")
    return Harvest(entries=entries, status=200, cursor=newest or since_id, problem=problem)
