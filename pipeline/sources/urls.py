"""URL canonicalisation: one spelling per article, so each is fetched and processed once.

``canonical_url(url)`` is deterministic and offline. It

* resolves aggregator redirect links when the real URL is in the link itself: Google News
  ``url=`` parameters and old-style ``CBMi…`` article ids (base64 protobuf), google.com/url,
  Bing (``url=``, ``u=a1<base64>``), Yahoo ``/RU=…/``, Facebook/Instagram ``l.php?u=``, LinkedIn,
  Outlook safe links, the Google AMP cache and viewer. New-style Google News ids and t.co links
  cannot be resolved without asking the aggregator, so they stay as they are;
* lowercases scheme and host, drops default ports, user info, fragments and ``www.``/``m.``/
  ``mobile.``/``amp.`` host prefixes;
* drops AMP path variants (``/amp``, ``/amp/…``, ``.amp``, ``?amp``, ``outputType=amp``) and
  tracking parameters (``utm_*``, ``fbclid``, ``gclid``, ``mc_*``, ``ref``, ``ocid``, …), then
  sorts the remaining query parameters;
* normalises percent-escapes and removes a trailing slash (the root stays ``/``).

The result identifies an item (``item_id(canonical_url)``); the original URL is kept for fetching.
"""

from __future__ import annotations

import base64
import binascii
import logging
import re
from urllib.parse import parse_qsl, unquote, urlencode, urljoin, urlsplit, urlunsplit

LOGGER = logging.getLogger(__name__)

_TRACKING_EXACT = frozenset(
    """fbclid gclid gclsrc dclid gbraid wbraid msclkid yclid twclid igshid ttclid li_fat_id mc_cid mc_eid
    ref ref_src ref_url referrer ocid cmpid cmp s_cid _hsenc _hsmi hsctatracking smid smtyp sr_share
    at_medium at_campaign at_custom1 at_custom2 at_custom3 at_custom4 ito mbid ncid sref guccounter
    guce_referrer guce_referrer_sig oly_anon_id oly_enc_id vero_id vero_conv rb_clickid soc_src soc_trk
    spm __twitter_impression wt.mc_id wt.mc_ev wt.tsrc _ga _gl taid share cmpgn icid intcmp amp
    outputtype fb_action_ids fb_action_types fb_source fb_ref action_object_map action_type_map
    action_ref_map feature xtor dicbo trk trkcampaign trkinfo originalreferrer src_trk ns_mchannel
    ns_source ns_campaign ns_linkname ns_fee""".split()  # noqa: SIM905 - a word list reads better
)
_TRACKING_PREFIXES = ("utm_", "mc_", "pk_", "piwik_", "mtm_", "matomo_", "itm_", "hsa_", "at_", "stm_")
_HOST_PREFIXES = ("www.", "m.", "mobile.", "amp.")
_DEFAULT_PORTS = {"http": 80, "https": 443}
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_PERCENT = re.compile(r"%([0-9A-Fa-f]{2})")
_GOOGLE_NEWS_ID = re.compile(r"/(?:rss/)?articles/([A-Za-z0-9_-]+)")
_YAHOO_RU = re.compile(r"/RU=([^/]+)/")
_AMP_CACHE = re.compile(r"^/[a-z]/(s/)?(.+)$")
MAX_RESOLVE_DEPTH = 4


class URLError(ValueError):
    """Not a URL an item can have (no http/https scheme or no host)."""


def absolute_url(href: str, base: str | None) -> str:
    """``href`` resolved against ``base`` (the feed or page URL); whitespace trimmed."""
    href = (href or "").strip()
    if not href:
        return ""  # an empty link is no link, not the base URL
    if href.startswith("//"):
        scheme = urlsplit(base).scheme if base else "https"
        return f"{scheme or 'https'}:{href}"
    return urljoin(base, href) if base else href


def _http(url: str | None) -> str | None:
    if url and url.strip().lower().startswith(("http://", "https://")):
        return url.strip()
    return None


def _param(query: str, *names: str) -> str | None:
    for key, value in parse_qsl(query, keep_blank_values=False):
        if key.lower() in names and _http(value):
            return value
    return None


def _google_news_id(article_id: str) -> str | None:
    """Old-style ids are base64url protobuf: 0x08 0x13 0x22 <varint length> <url> ...; new ones are opaque."""
    try:
        data = base64.urlsafe_b64decode(article_id + "=" * (-len(article_id) % 4))
    except (binascii.Error, ValueError):
        return None
    if not data.startswith(b"\x08\x13\x22"):
        return None
    length, shift, position = 0, 0, 3
    while position < len(data):
        byte = data[position]
        position += 1
        length |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            break
    raw = data[position : position + length]
    if len(raw) != length:
        return None
    try:
        url = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return _http(url)  # new-style ids carry "AU_yqL..." here, not a URL: left alone


def _bing_u(value: str) -> str | None:
    if not value.startswith("a1"):
        return None
    try:
        decoded = base64.urlsafe_b64decode(value[2:] + "=" * (-len(value[2:]) % 4)).decode("utf-8")
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None
    return _http(decoded)


def resolve_redirect_link(url: str) -> str:
    """The URL an aggregator link points at, when it is recoverable offline; else ``url`` itself."""
    current = url
    for _ in range(MAX_RESOLVE_DEPTH):
        try:
            target = _resolve_once(current)
        except ValueError:  # malformed; canonical_url reports it
            break
        if target is None or target == current:
            break
        current = target
    return current


def _resolve_once(url: str) -> str | None:
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    path, query = parts.path, parts.query
    if host == "news.google.com":
        found = _param(query, "url")
        if found:
            return found
        match = _GOOGLE_NEWS_ID.search(path)
        return _google_news_id(match.group(1)) if match else None
    if re.fullmatch(r"(www\.)?google\.[a-z.]+", host):
        if path == "/url":
            return _param(query, "q", "url")
        if path.startswith("/amp/"):
            rest = path[len("/amp/") :]
            rest = rest[2:] if rest.startswith("s/") else rest
            return f"https://{rest}" + (f"?{query}" if query else "")
        return None
    if host.endswith(".cdn.ampproject.org"):
        match = _AMP_CACHE.match(path)
        if match:
            scheme = "https" if match.group(1) else "http"
            return f"{scheme}://{match.group(2)}" + (f"?{query}" if query else "")
        return None
    if host.endswith("bing.com"):
        found = _param(query, "url", "r")
        if found:
            return found
        for key, value in parse_qsl(query):
            if key == "u":
                return _bing_u(value)
        return None
    if host.endswith("search.yahoo.com"):
        match = _YAHOO_RU.search(path)
        return _http(unquote(match.group(1))) if match else None
    if host in ("l.facebook.com", "lm.facebook.com", "l.instagram.com", "l.messenger.com") or (
        host.endswith("facebook.com") and path in ("/l.php", "/flx/warn/")
    ):
        return _param(query, "u")
    if host.endswith("linkedin.com") and path.startswith("/redir/"):
        return _param(query, "url")
    if host.endswith("safelinks.protection.outlook.com"):
        return _param(query, "url")
    return None


def _clean_percent(text: str) -> str:
    def fix(match: re.Match[str]) -> str:
        char = chr(int(match.group(1), 16))
        return char if char in _UNRESERVED else f"%{match.group(1).upper()}"

    return _PERCENT.sub(fix, text)


def _strip_amp_path(path: str) -> str:
    if path.startswith("/amp/"):
        path = path[len("/amp") :]
    for suffix in ("/amp/", "/amp", ".amp"):
        if path.endswith(suffix) and len(path) > len(suffix):
            path = path[: -len(suffix)]
    return path.replace(".amp.html", ".html")


def _is_tracking(key: str) -> bool:
    lowered = key.lower()
    return lowered in _TRACKING_EXACT or lowered.startswith(_TRACKING_PREFIXES)


def canonical_url(url: str, base: str | None = None) -> str:
    """The canonical spelling of ``url`` (relative URLs resolved against ``base``); see module doc.

    Raises:
        URLError: not an http(s) URL with a host (mailto:, javascript:, empty, ...).
    """
    absolute = absolute_url(url, base)
    if not _http(absolute):
        raise URLError(f"not an http(s) URL: {url!r}")
    absolute = resolve_redirect_link(absolute)
    try:
        parts = urlsplit(absolute)
        port = parts.port
    except ValueError as error:
        raise URLError(f"malformed URL {url!r}: {error}") from error
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower().rstrip(".")
    if not host:
        raise URLError(f"URL without a host: {url!r}")
    for prefix in _HOST_PREFIXES:
        if host.startswith(prefix) and host.count(".") >= 2:
            host = host[len(prefix) :]
            break
    netloc = f"[{host}]" if ":" in host else host
    if port is not None and port != _DEFAULT_PORTS.get(scheme):
        netloc += f":{port}"

    path = _clean_percent(parts.path or "/")
    path = re.sub(r"/{2,}", "/", _strip_amp_path(path))
    if len(path) > 1:
        path = path.rstrip("/") or "/"
    query_pairs = [
        (key, value) for key, value in parse_qsl(parts.query, keep_blank_values=True) if not _is_tracking(key)
    ]
    query = urlencode(sorted(query_pairs), doseq=True)
    return urlunsplit((scheme, netloc, path or "/", query, ""))


def link_url(url: str) -> str:
    """The link to show a reader: aggregator redirects resolved, tracking parameters (the same list as
    :func:`canonical_url`) and the fragment dropped, but host and path as published (a ``www.`` or
    AMP spelling is what the site serves; ``canonical_url`` folds those for identity only).

    Raises:
        URLError: not an http(s) URL with a host.
    """
    if not _http(url):
        raise URLError(f"not an http(s) URL: {url!r}")
    parts = urlsplit(resolve_redirect_link(url.strip()))
    if not parts.hostname:
        raise URLError(f"URL without a host: {url!r}")
    kept = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _is_tracking(k)]
    return urlunsplit(
        (parts.scheme.lower(), parts.netloc, parts.path or "/", urlencode(kept, doseq=True), "")
    )
