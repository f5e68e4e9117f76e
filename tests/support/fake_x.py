"""A fake X API v2 on loopback, for tweepy: the endpoints muniwatch uses, with pagination tokens,
``since_id``, includes for authors, a bearer-token check and rate limiting on demand.

tweepy's API host is fixed (``https://api.twitter.com``), so tests hand tweepy the session from
:meth:`FakeXAPI.session`, which rewrites that host (and api.x.com) to this server.

    fake = FakeXAPI(token="test-token")
    fake.add_user("yashar", "Yashar Ali")
    fake.add_tweet("yashar", "text", created_at="2025-06-09T20:15:00.000Z", urls=[...])
    client = make_x_client(settings, session=fake.session())
"""

from __future__ import annotations

import itertools
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests

API_HOSTS = ("https://api.twitter.com", "https://api.x.com")


@dataclass(kw_only=True)
class SeenXRequest:
    path: str
    params: dict[str, str]
    headers: dict[str, str]
    status: int


@dataclass(kw_only=True)
class FakeXAPI:
    token: str = "test-token"
    page_size: int | None = None  # overrides max_results when set, to force pagination
    users: dict[str, dict[str, str]] = field(default_factory=dict)  # username -> user
    timelines: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # user id -> tweets
    search_results: list[dict[str, Any]] = field(default_factory=list)
    requests: list[SeenXRequest] = field(default_factory=list)
    # The next N timeline/search requests get 429 with this reset epoch.
    rate_limited: int = 0
    rate_limit_reset: int = 0

    def __post_init__(self) -> None:
        self._ids = itertools.count(1932000000000000001)
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                fake._serve(self)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    # --- test data ---------------------------------------------------------------------------

    def add_user(self, username: str, name: str) -> str:
        user_id = str(1000 + len(self.users))
        self.users[username.lower()] = {"id": user_id, "name": name, "username": username}
        self.timelines.setdefault(user_id, [])
        return user_id

    def tweet(
        self, username: str, text: str, *, created_at: str, urls: list[dict[str, str]] | None = None
    ) -> dict[str, Any]:
        """A tweet object as the API returns it (ids increase with each call)."""
        user = self.users[username.lower()]
        tweet: dict[str, Any] = {
            "id": str(next(self._ids)),
            "text": text,
            "created_at": created_at,
            "author_id": user["id"],
            "edit_history_tweet_ids": [],
        }
        if urls:
            tweet["entities"] = {"urls": [{"start": 0, "end": 23, **u} for u in urls]}
        return tweet

    def add_tweet(self, username: str, text: str, **kwargs: Any) -> dict[str, Any]:
        tweet = self.tweet(username, text, **kwargs)
        self.timelines[self.users[username.lower()]["id"]].append(tweet)
        return tweet

    def add_search_result(self, username: str, text: str, **kwargs: Any) -> dict[str, Any]:
        tweet = self.tweet(username, text, **kwargs)
        self.search_results.append(tweet)
        return tweet

    def seen(self, fragment: str) -> list[SeenXRequest]:
        with self._lock:
            return [r for r in self.requests if fragment in r.path]

    def session(self) -> requests.Session:
        return _RewritingSession(self.base_url)

    # --- serving -------------------------------------------------------------------------------

    def _serve(self, request: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(request.path)
        params = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        headers = {k.lower(): v for k, v in request.headers.items()}
        status, body, extra = self._answer(parts.path, params, headers)
        with self._lock:
            self.requests.append(SeenXRequest(path=parts.path, params=params, headers=headers, status=status))
        payload = json.dumps(body).encode()
        request.send_response(status)
        request.send_header("Content-Type", "application/json")
        request.send_header("Content-Length", str(len(payload)))
        for key, value in extra.items():
            request.send_header(key, value)
        request.end_headers()
        request.wfile.write(payload)

    def _answer(
        self, path: str, params: dict[str, str], headers: dict[str, str]
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        if headers.get("authorization") != f"Bearer {self.token}":
            return (
                401,
                {"title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"},
                {},
            )
        segments = path.strip("/").split("/")
        if segments[:3] == ["2", "users", "by"] and len(segments) == 5:
            user = self.users.get(segments[4].lower())
            if user is None:
                return 200, {"errors": [{"title": "Not Found Error", "detail": f"no user {segments[4]}"}]}, {}
            return 200, {"data": user}, {}
        if segments[:2] == ["2", "users"] and len(segments) == 4 and segments[3] == "tweets":
            limited = self._rate_limit()
            if limited:
                return limited
            return 200, self._page(self.timelines.get(segments[2], []), params, "pagination_token"), {}
        if segments == ["2", "tweets", "search", "recent"]:
            limited = self._rate_limit()
            if limited:
                return limited
            return 200, self._page(self.search_results, params, "next_token"), {}
        return 404, {"title": "Not Found", "status": 404}, {}

    def _rate_limit(self) -> tuple[int, dict[str, Any], dict[str, str]] | None:
        with self._lock:
            if self.rate_limited <= 0:
                return None
            self.rate_limited -= 1
        headers = {"x-rate-limit-limit": "900", "x-rate-limit-remaining": "0",
                   "x-rate-limit-reset": str(self.rate_limit_reset)}  # fmt: skip
        return 429, {"title": "Too Many Requests", "status": 429, "detail": "Too Many Requests"}, headers

    def _page(self, tweets: list[dict[str, Any]], params: dict[str, str], token_param: str) -> dict[str, Any]:
        since = int(params.get("since_id", "0"))
        newest_first = sorted((t for t in tweets if int(t["id"]) > since), key=lambda t: -int(t["id"]))
        size = self.page_size or int(params.get("max_results", "10"))
        offset = int(params.get(token_param, "p0")[1:])
        page = newest_first[offset : offset + size]
        meta: dict[str, Any] = {"result_count": len(page)}
        if page:
            meta["newest_id"], meta["oldest_id"] = page[0]["id"], page[-1]["id"]
        if offset + size < len(newest_first):
            meta["next_token"] = f"p{offset + size}"
        body: dict[str, Any] = {"meta": meta}
        if page:
            body["data"] = page
            authors = {t["author_id"] for t in page}
            body["includes"] = {"users": [u for u in self.users.values() if u["id"] in authors]}
        return body


class _RewritingSession(requests.Session):
    """Sends tweepy's requests for the X API host to the fake server instead."""

    def __init__(self, base_url: str) -> None:
        super().__init__()
        self.base_url = base_url
        self.trust_env = False

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        target = url.decode() if isinstance(url, bytes) else url
        for host in API_HOSTS:
            if target.startswith(host):
                target = self.base_url + target[len(host) :]
        return super().request(method, target, *args, **kwargs)
