"""Feed entries from fetched bytes: RSS 0.9x/1.0/2.0, Atom, Mastodon and Bluesky RSS.

``parse_feed(body, source=..., feed_url=...)`` hands the bytes to feedparser (never a URL, so
feedparser never fetches anything itself), with the feed URL as the base for relative links.
Each usable entry becomes a :class:`FeedEntry` with its canonical URL; entries that cannot be
used (no link, a link that is not http(s)) come back as :class:`Rejected` with the reason, to be
counted and quarantined. A malformed feed (feedparser's "bozo" flag) still yields what could be
read, and ``ParsedFeed.problem`` says what was wrong, for the source's health.

Mastodon (``/@user.rss``, ``/tags/<tag>.rss``) and Bluesky (``/profile/<handle>/rss``) entries
are posts: the entry carries a :class:`PostInfo` (platform, handle, text, the article URLs the
post links to, without mentions and hashtags), and the post URL is the item's URL.
"""

from __future__ import annotations

import calendar
import hashlib
import logging
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import urlsplit

import feedparser
import lxml.html
from lxml.etree import ParserError

from pipeline.config import SourceConfig
from pipeline.models import FeedEntry, PostInfo, Rejected
from pipeline.sources.urls import URLError, absolute_url, canonical_url

LOGGER = logging.getLogger(__name__)

Platform = Literal["mastodon", "bluesky"]

_MASTODON_PATH = re.compile(r"^/(?:@([^/]+)|users/([^/]+)|tags/([^/]+))\.rss$", re.IGNORECASE)
_BLUESKY_PATH = re.compile(r"^/profile/([^/]+)/rss/?$", re.IGNORECASE)
_MASTODON_POST = re.compile(r"^/@([^/]+)/(\d+)")
_BLUESKY_POST = re.compile(r"^/profile/([^/]+)/post/([^/?#]+)")
# Profiles, hashtags and posts on the platform itself are not articles.
_PLATFORM_PATH = re.compile(r"^/(?:@|users/|tags/|profile/|web/|explore)")
_PLAIN_URL = re.compile(r"https?://[^\s<>\"')\]]+")
_SPACES = re.compile(r"\s+")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# Sentence punctuation glued to the end of a URL in plain text is not part of it.
_URL_TAIL = ".,;:!?…"
POST_TITLE_CHARS = 140
# Entry dates outside these bounds are garbage, not news (see _when).
_EARLIEST_DATE = datetime(1990, 1, 1, tzinfo=UTC)
_LATEST_DATE = datetime(2100, 1, 1, tzinfo=UTC)
# A numeric character reference: one that names a lone surrogate (&#xD800;) or no character at all
# makes feedparser raise on the whole feed, so such references become U+FFFD before parsing.
_CHAR_REF = re.compile(rb"&#([xX][0-9a-fA-F]{1,8}|[0-9]{1,10});")
_XML_ENCODING = re.compile(rb"""^(\s*<\?xml[^>]*?encoding\s*=\s*["'])([A-Za-z0-9._:-]+)(["'])""")
_SINGLE_BYTE = frozenset(
    {"iso-8859-1", "iso8859-1", "latin-1", "latin1", "l1", "windows-1252", "cp1252", "iso-8859-15",
     "us-ascii", "ascii"}
)  # fmt: skip


@dataclass(kw_only=True)
class ParsedFeed:
    entries: list[FeedEntry] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    title: str = ""
    version: str = ""
    platform: Platform | None = None
    # Why feedparser flagged the feed as malformed (bozo), or None when it was well-formed.
    problem: str | None = None

    @property
    def total(self) -> int:
        return len(self.entries) + len(self.rejected)


def detect_platform(feed_url: str) -> Platform | None:
    """Mastodon and Bluesky RSS feeds are recognised by their URL shapes."""
    parts = urlsplit(feed_url)
    if _BLUESKY_PATH.match(parts.path):
        return "bluesky"
    if _MASTODON_PATH.match(parts.path):
        return "mastodon"
    return None


def html_to_text(markup: str) -> str:
    """Visible text of an HTML fragment, whitespace collapsed (summaries, post bodies).

    Control characters (NUL, escape, ...) are dropped: they are never text and must not reach an
    index, a terminal or an e-mail header."""
    markup = _CONTROL.sub("", markup or "")
    if not markup or "<" not in markup:
        return _SPACES.sub(" ", markup or "").strip()
    try:
        root = lxml.html.fragment_fromstring(markup, create_parent="div")
    except (ParserError, ValueError):
        return _SPACES.sub(" ", re.sub(r"<[^>]+>", " ", markup)).strip()
    for br in root.iter("br", "p"):
        br.tail = " " + (br.tail or "")
    return _SPACES.sub(" ", root.text_content()).strip()


def post_links(markup: str, *, post_host: str, base: str) -> list[str]:
    """Article URLs a post links to: not mentions, hashtags or links back into the platform."""
    links: list[str] = []
    text = markup or ""
    if "<" in text:
        try:
            root = lxml.html.fragment_fromstring(markup, create_parent="div")
        except (ParserError, ValueError):
            root = None
        if root is not None:
            for anchor in list(root.iter("a")):
                classes = set((anchor.get("class") or "").split())
                rel = set((anchor.get("rel") or "").split())
                if not (classes & {"mention", "hashtag", "u-url"} or "tag" in rel):
                    links.append(absolute_url(anchor.get("href") or "", base))
                # Link text is a shortened display ("example.com/news/…"), never a URL to follow.
                anchor.drop_tree()
            text = root.text_content()
    links.extend(m.rstrip(_URL_TAIL) for m in _PLAIN_URL.findall(text) if not m.endswith(("...", "…")))
    kept: list[str] = []
    for link in links:
        parts = urlsplit(link)
        host = (parts.hostname or "").lower()
        internal = host == post_host and _PLATFORM_PATH.match(parts.path)
        if link.startswith(("http://", "https://")) and host and not internal and link not in kept:
            kept.append(link)
    return kept


def _when(entry: Any) -> datetime | None:
    """The entry's date, or None when it has none that could be true (feedparser turns garbage
    such as ``Fri, 31 Dec 9999`` or a 23-digit number into year-9999 dates, which would sort
    first forever and fall outside every date window)."""
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        value = entry.get(key)
        if value:
            try:
                when = datetime.fromtimestamp(calendar.timegm(value), tz=UTC)
            except (OverflowError, ValueError, TypeError):
                continue
            if _EARLIEST_DATE <= when <= _LATEST_DATE:
                return when
    return None


def _entry_link(entry: Any) -> str:
    if entry.get("link"):
        return str(entry["link"])
    for link in entry.get("links", []):
        if link.get("href") and link.get("rel", "alternate") == "alternate":
            return str(link["href"])
    # feedparser already uses a permalink guid as the link; a non-permalink guid is not a link.
    return str(entry.get("id") or "") if entry.get("guidislink") else ""


def _rejected_key(source_id: str, entry: Any, position: int) -> str:
    basis = entry.get("id") or entry.get("title") or entry.get("summary") or f"#{position}"
    digest = hashlib.sha256(str(basis).encode("utf-8", "replace")).hexdigest()[:16]
    return f"{source_id}:{digest}"


def _post_info(
    platform: Platform, entry: Any, link: str, feed_url: str, summary_html: str, text: str
) -> PostInfo:
    parts = urlsplit(link)
    host = (parts.hostname or "").lower()
    handle, post_id = "", ""
    if platform == "mastodon":
        match = _MASTODON_POST.match(parts.path)
        if match:
            handle, post_id = f"@{match.group(1)}@{host}", match.group(2)
        else:
            feed_match = _MASTODON_PATH.match(urlsplit(feed_url).path)
            user = feed_match and (feed_match.group(1) or feed_match.group(2))
            handle = f"@{user}@{host}" if user else ""
    else:
        match = _BLUESKY_POST.match(parts.path)
        if match:
            handle, post_id = match.group(1), match.group(2)
        else:
            feed_match = _BLUESKY_PATH.match(urlsplit(feed_url).path)
            handle = feed_match.group(1) if feed_match else ""
    post_id = post_id or str(entry.get("id") or link).rstrip("/").rsplit("/", 1)[-1]
    author = str(entry.get("author") or handle)
    return PostInfo(
        platform=platform,
        post_id=post_id,
        author=author,
        handle=handle,
        text=text,
        linked_urls=post_links(summary_html, post_host=host, base=link),
    )


def parse_feed(
    body: bytes,
    *,
    source: SourceConfig,
    feed_url: str,
    content_type: str | None = None,
) -> ParsedFeed:
    """Entries of one fetched feed; see the module docstring.

    Args:
        body: the bytes the HTTP client fetched.
        source: the configured source (id, kind, home_state).
        feed_url: the URL the bytes came from (after redirects): base of relative links.
        content_type: the response's Content-Type, which may carry the charset.
    """
    body, content_type, encoding_note = _utf8_declared_as_single_byte(body, content_type)
    body = _without_impossible_characters(body)
    # Without a Content-Type feedparser would assume Latin-1 (its reading of RFC 3023 for an HTTP
    # response); application/xml lets the byte-order mark and the XML declaration decide.
    headers = {"content-location": feed_url, "content-type": content_type or "application/xml"}
    platform = detect_platform(feed_url)
    try:
        parsed = feedparser.parse(body, response_headers=headers, sanitize_html=True)
    except Exception as crash:  # feedparser means never to raise; its loose parser still can
        LOGGER.warning("feedparser failed on %s: %s: %s", feed_url, type(crash).__name__, crash)
        return ParsedFeed(
            title="", version="", platform=platform,
            problem=f"not a feed: the parser failed ({type(crash).__name__}: {crash})",
        )  # fmt: skip
    result = ParsedFeed(
        title=html_to_text(parsed.feed.get("title", "")),
        version=parsed.get("version", "") or "",
        platform=platform,
        problem=encoding_note,
    )
    if parsed.get("bozo"):
        error = parsed.get("bozo_exception")
        result.problem = f"{type(error).__name__}: {error}" if error else "malformed feed"
    if not result.version and not parsed.entries:
        result.problem = result.problem or "not a feed: no RSS or Atom structure found"

    seen_guids: set[str] = set()
    for position, entry in enumerate(parsed.entries):
        link = _entry_link(entry)
        guid = str(entry.get("id") or "") or None
        if guid and guid in seen_guids:
            result.rejected.append(
                Rejected(stage="poll", key=_rejected_key(source.id, entry, position), source_id=source.id,
                         reason=f"duplicate entry id {guid!r} in the same feed; kept the first",
                         payload={"guid": guid, "title": entry.get("title"), "link": link})
            )  # fmt: skip
            continue
        if guid:
            seen_guids.add(guid)
        try:
            canonical = canonical_url(link, feed_url)
        except URLError as error:
            reason = "entry has no link" if not link else f"entry link unusable: {error}"
            result.rejected.append(
                Rejected(stage="poll", key=_rejected_key(source.id, entry, position), source_id=source.id,
                         reason=reason, payload={"guid": guid, "title": entry.get("title"), "link": link})
            )  # fmt: skip
            continue
        url = absolute_url(link, feed_url)
        summary_html = str(entry.get("summary") or "")
        if not summary_html and entry.get("content"):
            summary_html = str(entry["content"][0].get("value") or "")
        summary = html_to_text(summary_html)
        title = html_to_text(str(entry.get("title") or ""))
        post = None
        if platform is not None:
            post = _post_info(platform, entry, url, feed_url, summary_html, summary)
            if not title or title == summary or title.startswith("New status by"):
                title = _post_title(summary)
        result.entries.append(
            FeedEntry(
                source_id=source.id,
                source_kind=source.kind,
                url=url,
                canonical_url=canonical,
                title=title,
                summary=summary,
                published_at=_when(entry),
                guid=guid,
                author=str(entry.get("author")) if entry.get("author") else None,
                home_state=source.home_state,
                post=post,
            )
        )
    return result


def _charset(content_type: str | None) -> str | None:
    for part in (content_type or "").split(";")[1:]:
        key, _, value = part.strip().partition("=")
        if key.lower() == "charset" and value:
            return value.strip("\"' ").lower()
    return None


def _utf8_declared_as_single_byte(
    body: bytes, content_type: str | None
) -> tuple[bytes, str | None, str | None]:
    """Bytes that are valid UTF-8 with multi-byte characters but declared Latin-1/ASCII.

    Valid multi-byte UTF-8 almost never arises by chance in Latin-1 text, so trusting the
    declaration would only produce mojibake ("CaÃ±on"): read such feeds as UTF-8 and say so.
    (The opposite mistake, Latin-1 bytes declared UTF-8, feedparser detects and handles itself.)
    """
    match = _XML_ENCODING.match(body)
    declared = match.group(2).decode("ascii").lower() if match else None
    header = _charset(content_type)
    claims = [c for c in (header, declared) if c]
    if not claims or not all(c in _SINGLE_BYTE for c in claims) or body.isascii():
        return body, content_type, None
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return body, content_type, None
    if match:
        body = match.group(1) + b"utf-8" + match.group(3) + body[match.end() :]
    media = (content_type or "application/xml").split(";")[0].strip()
    note = f"declared as {claims[0]} but the bytes are UTF-8; read as UTF-8"
    return body, f"{media}; charset=utf-8", note


def _impossible_reference(match: re.Match[bytes]) -> bytes:
    digits = match.group(1)
    code = int(digits[1:], 16) if digits[:1] in (b"x", b"X") else int(digits)
    if 0xD800 <= code <= 0xDFFF or code > 0x10FFFF:
        return b"&#xFFFD;"
    return match.group(0)


def _without_impossible_characters(body: bytes) -> bytes:
    """References to lone surrogates or beyond U+10FFFF replaced by U+FFFD: one bad entry must
    not cost the feed its good ones (feedparser raises on the whole document)."""
    if b"&#" not in body:
        return body
    return _CHAR_REF.sub(_impossible_reference, body)


def _post_title(text: str) -> str:
    if len(text) <= POST_TITLE_CHARS:
        return text
    return text[:POST_TITLE_CHARS].rsplit(" ", 1)[0] + "…"
