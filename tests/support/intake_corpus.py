"""Feeds and pages built from labelled items, served on loopback, for the intake tests.

Each labelled article becomes an HTML page; feeds list them in one of three shapes:

* ``summary`` — outlet RSS feeds whose entries carry the first 200 characters of the text;
* ``title_only`` — a news search feed (Google News style): each entry a title and an outlet,
  the source marked ``prefiltered`` (a search engine matched the full text);
* ``full`` — outlet Atom feeds whose entries carry the whole text.

Posts (labelled items that are social posts) go in a Mastodon-style feed in every shape. The
labelled data comes from ``tests/fixtures/intake/items.jsonl`` (written for the project) and, at
run time only, from the shared evaluation files (never copied into the repository).
"""

from __future__ import annotations

import hashlib
import html
import json
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote, urlsplit

from pipeline.settings import REPO_ROOT
from tests.support.http import LoopbackHTTPServer, Route

Shape = Literal["summary", "title_only", "full"]
SHAPES: tuple[Shape, ...] = ("summary", "title_only", "full")
SUMMARY_CHARS = 200
FIXTURE_ITEMS = REPO_ROOT / "tests" / "fixtures" / "intake" / "items.jsonl"
EVAL_FILES = ("train.jsonl", "dev.jsonl", "seeds.jsonl")
_DEFAULT_DATE = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


@dataclass(frozen=True, kw_only=True)
class LabelledItem:
    id: str
    kind: Literal["article", "post"]
    title: str
    body: str
    relevant: bool
    published: datetime
    # The path of the item's original URL (headline words, as newsrooms write them), if known.
    url_path: str = ""
    # False when an outlet feed with 200-character summaries is expected to drop the item.
    outlet_summary_gate: bool = True

    @property
    def slug(self) -> str:
        return hashlib.sha256(self.id.encode()).hexdigest()[:16]

    @property
    def page_path(self) -> str:
        """Unique per item; ends like the original URL's path (or a slug of the title)."""
        tail = self.url_path.strip("/") or "-".join(re.findall(r"[a-z0-9]+", self.title.lower())[:12])
        return f"{self.slug}/{quote(tail, safe='/-_.')}"


def eval_dir() -> Path | None:
    """The shared labelled data, if this checkout has it (``$MUNIWATCH_EVAL_DIR`` first)."""
    configured = os.environ.get("MUNIWATCH_EVAL_DIR")
    if configured:
        candidates = [Path(configured)]
    else:
        candidates = [REPO_ROOT.parent / "shared" / "eval", REPO_ROOT.parent.parent / "shared" / "eval",
                      Path("/work/shared/eval")]  # fmt: skip
    return next((c for c in candidates if all((c / f).is_file() for f in EVAL_FILES)), None)


def _date(value: Any) -> datetime:
    if not value:
        return _DEFAULT_DATE
    text = str(value).replace("Z", "+00:00")
    parsed = datetime.fromisoformat(text if "T" in text or len(text) > 10 else text + "T12:00:00+00:00")
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def load_fixture_items(path: Path = FIXTURE_ITEMS) -> list[LabelledItem]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [
        LabelledItem(id=r["id"], kind=r["kind"], title=r["title"], body=r["text"], relevant=r["relevant"],
                     published=_date(r.get("published")), outlet_summary_gate=r["outlet_summary_gate"])
        for r in rows
    ]  # fmt: skip


def load_eval_items(folder: Path) -> list[LabelledItem]:
    """Every labelled line of the shared files: the first line of the text is the title; a
    seed whose source says "post" is a post."""
    items = []
    for name in EVAL_FILES:
        for line in (folder / name).read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            row = json.loads(line)
            text = str(row["text"]).strip()
            is_post = "post" in str(row.get("source") or "")
            title, _, body = text.partition("\n")
            if is_post or not body.strip():
                title, body = "", text
            url_path = urlsplit(row.get("url") or "").path
            items.append(
                LabelledItem(id=f"{name.split('.')[0]}:{row['id']}", kind="post" if is_post else "article",
                             title=title.strip(), body=body.strip(), relevant=bool(row["relevant"]),
                             published=_date(row.get("published")), url_path=url_path)
            )  # fmt: skip
    return items


def sample(items: list[LabelledItem], relevant: int, other: int) -> list[LabelledItem]:
    """A deterministic sample: the first ``relevant`` relevant and ``other`` other items by id hash."""
    ordered = sorted(items, key=lambda i: hashlib.sha256(i.id.encode()).hexdigest())
    return [i for i in ordered if i.relevant][:relevant] + [i for i in ordered if not i.relevant][:other]


def page_html(item: LabelledItem, outlet: str) -> bytes:
    paragraphs = "\n".join(f"<p>{html.escape(p)}</p>" for p in item.body.split("\n") if p.strip())
    title = html.escape(item.title)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title} | {outlet}</title>
<meta property="og:title" content="{title}">
<meta property="article:published_time" content="{item.published.isoformat()}"></head>
<body><header><nav><a href="/">Home</a> <a href="/news">News</a> <a href="/about">About</a></nav></header>
<main><article><h1>{title}</h1><p class="byline">By Staff, {outlet}</p>
{paragraphs}
</article></main>
<footer><p>&copy; {outlet}. All rights reserved.</p></footer></body></html>""".encode()


def _rss(title: str, link: str, entries: list[str]) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel>'
        f"<title>{html.escape(title)}</title><link>{link}</link><description>{html.escape(title)}</description>"
        + "".join(entries)
        + "</channel></rss>"
    ).encode()


def _atom(title: str, link: str, entries: list[str]) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">'
        f"<title>{html.escape(title)}</title><id>{link}</id><updated>2025-06-12T00:00:00Z</updated>"
        f'<link href="{link}"/>' + "".join(entries) + "</feed>"
    ).encode()


@dataclass(kw_only=True)
class ServedCorpus:
    """What a shape put on the server: the sources to configure, each article's page path."""

    sources: list[dict[str, Any]]
    page_paths: dict[str, str]  # item id -> page path (articles only)
    post_urls: dict[str, str]  # item id -> post URL (posts only)


def serve(server: LoopbackHTTPServer, items: list[LabelledItem], shape: Shape, *, feeds: int = 4,
          prefiltered_field: bool = True) -> ServedCorpus:  # fmt: skip
    """Serve ``items`` as pages behind ``feeds`` feeds of ``shape`` (plus one for posts).

    ``prefiltered_field`` False leaves ``prefiltered`` out of the source config (a checkout
    whose configuration does not know the field)."""
    served = ServedCorpus(sources=[], page_paths={}, post_urls={})
    groups: list[list[LabelledItem]] = [[] for _ in range(feeds)]
    for item in items:
        if item.kind == "article":
            groups[int(item.slug, 16) % feeds].append(item)
    for n, group in enumerate(groups):
        outlet = f"Outlet {n}"
        entries = []
        for item in group:
            path = f"/{shape}/o{n}/{item.page_path}"
            served.page_paths[item.id] = path
            server.add(path, Route(body=page_html(item, outlet)))
            entries.append(_entry(shape, item, server.url(path), outlet))
        if shape == "title_only":
            path = f"/{shape}/rss/search?q=immigration+{n}"
            body = _rss(f"search {n} - Google News", server.url(path), entries)
            source: dict[str, Any] = {"id": f"{shape.replace('_', '-')}-search-{n}", "kind": "rss",
                                      "url": server.url(path)}  # fmt: skip
            if prefiltered_field:
                source["prefiltered"] = True
        elif shape == "full":
            path = f"/{shape}/o{n}/feed.atom"
            body = _atom(outlet, server.url(f"/{shape}/o{n}/"), entries)
            source = {"id": f"{shape}-outlet-{n}", "kind": "rss", "url": server.url(path)}
        else:
            path = f"/{shape}/o{n}/feed.xml"
            body = _rss(outlet, server.url(f"/{shape}/o{n}/"), entries)
            source = {"id": f"{shape}-outlet-{n}", "kind": "rss", "url": server.url(path)}
        server.add(path, Route(body=body, content_type="application/xml", etag=f'"{shape}-{n}-v1"'))
        served.sources.append(source)
    posts = [item for item in items if item.kind == "post"]
    if posts:
        entries = []
        for item in posts:
            url = server.url(f"/@reporter_{shape}/{int(item.slug[:12], 16)}")
            served.post_urls[item.id] = url
            entries.append(
                f"<item><guid>{url}</guid><link>{url}</link><pubDate>{format_datetime(item.published)}</pubDate>"
                f"<description>{html.escape('<p>' + html.escape(item.body) + '</p>')}</description></item>"
            )
        # A Mastodon account feed (``/@user.rss``): its entries are posts, nothing to fetch.
        path = f"/@reporter_{shape}.rss"
        server.add(path, Route(body=_rss("reporter", server.url("/@reporter"), entries),
                               content_type="application/rss+xml", etag=f'"{shape}-posts-v1"'))  # fmt: skip
        served.sources.append(
            {"id": f"{shape.replace('_', '-')}-posts", "kind": "rss", "url": server.url(path)}
        )
    return served


def _entry(shape: Shape, item: LabelledItem, url: str, outlet: str) -> str:
    title = html.escape(item.title)
    when = format_datetime(item.published)
    if shape == "full":
        paragraphs = "".join(f"<p>{html.escape(p)}</p>" for p in item.body.split("\n") if p.strip())
        return (f"<entry><title>{title}</title><id>{url}</id><link href=\"{url}\"/>"
                f"<updated>{item.published.isoformat()}</updated>"
                f'<content type="html">{html.escape(paragraphs)}</content></entry>')  # fmt: skip
    if shape == "title_only":
        # What a Google News search entry carries: "title - outlet" and a link with the outlet.
        description = f'<a href="{url}">{title}</a>&nbsp;&nbsp;<font color="#6f6f6f">{outlet}</font>'
        return (f"<item><title>{title} - {html.escape(outlet)}</title><link>{url}</link><guid>{url}</guid>"
                f"<pubDate>{when}</pubDate>"
                f"<description>{html.escape(description)}</description></item>")  # fmt: skip
    summary = " ".join(item.body.split())[:SUMMARY_CHARS]
    return (f"<item><title>{title}</title><link>{url}</link><guid>{url}</guid><pubDate>{when}</pubDate>"
            f"<description>{html.escape(summary)}</description></item>")  # fmt: skip
