"""News-page markup for the benchmark corpus, as heavy as real news pages are.

A generated article is only useful to the benchmark if trafilatura has as much to wade through as
on a real news page: the cost of extraction grows with the page's elements (menus, promos, ad
slots, icon SVGs, related-story grids, footers), not with the article. ``bench/reference.py``
measures real published news pages (the HTML test pages that ship in newspaper4k's source
distribution, fetched from PyPI at run time) and this module is calibrated against it: median
≈ 800 elements and ≈ 75 KB of HTML, a long tail of multi-hundred-KB pages carrying hydration
JSON, and trafilatura taking about as long per page on both (see bench/README.md).

Five site templates: a metro daily (mega-menu, ad slots, inline promos, "most read", comments), a
WordPress blog (widgets, tag cloud, comment thread), a county press release (government chrome,
accessibility links, department directory), a TV station (video player, scripts, JSON-LD,
related grid, cookie banner) and a lean mobile page (AMP-like, little chrome).
"""

from __future__ import annotations

import html
import json
import random
from dataclasses import dataclass
from datetime import datetime

_SECTIONS = ("News", "Local", "Politics", "Sports", "Weather", "Opinion", "Business", "Obituaries",
             "Events", "Food", "Arts", "Real Estate", "Jobs", "Autos", "Traffic", "Schools")  # fmt: skip
_TOPICS = ("Crime", "Courts", "Transit", "Housing", "Health", "Education", "Environment", "Elections",
           "Budget", "Parks", "Water", "Wildfires", "High school", "Restaurants", "Music",
           "Faith")  # fmt: skip
TEASERS = (
    "Road work closes two lanes on the east side through Friday",
    "High school team heads to the state final for the first time since 1998",
    "New bakery opens in the old post office building downtown",
    "Library extends weekend hours after survey of patrons",
    "Firefighters contain brush fire near the reservoir",
    "School board approves later start times for next fall",
    "Farmers market returns with a dozen new vendors",
    "Developer proposes 300 apartments near the rail station",
    "Weekend forecast: sunshine, then a chance of storms",
    "Longtime diner owner retires after 40 years behind the counter",
    "City pool reopens after repairs to the filtration system",
    "Museum exhibit traces the history of the county fair",
)
RIVER_MU, RIVER_SIGMA = 3.6, 1.2
_ICON_PATHS = ("M12 2C6.48 2 2 6.48 2 12s4.48 10 10 10 10-4.48 10-10S17.52 2 12 2z",
               "M4 6h16M4 12h16M4 18h16", "M15.5 14h-.79l-.28-.27A6.47 6.47 0 0016 9.5 6.5 6.5 0 109.5 16",
               "M22 4.01c-1 .49-1.98.689-3 .99-1.121-1.265-2.783-1.335-4.38-.737S11.977 6.323 12 8v1",
               )  # fmt: skip


@dataclass(frozen=True, kw_only=True)
class Article:
    """What a page is about; the markup around it is the template's."""

    site: str
    title: str
    when: datetime
    author: str
    paragraphs: list[str]


def _svg(rng: random.Random, label: str) -> str:
    paths = "".join(f'<path d="{rng.choice(_ICON_PATHS)}"></path>' for _ in range(rng.randint(1, 3)))
    return f'<svg class="icon icon-{label}" viewBox="0 0 24 24" aria-hidden="true"><g>{paths}</g></svg>'


def _slug(rng: random.Random) -> str:
    return rng.choice(TEASERS).lower().replace(" ", "-").replace(":", "").replace(",", "")


def _tracking(rng: random.Random, where: str) -> str:
    """The attributes real sites hang on every link: utility classes and analytics payloads."""
    return (
        f'class="c-link c-link--{where} u-font-{rng.choice(("s", "m", "l"))} js-track" '
        f'data-track=\'{{"module":"{where}","position":{rng.randint(1, 40)},'
        f'"id":"{rng.getrandbits(48):x}"}}\''
    )


def _link(rng: random.Random, words: tuple[str, ...]) -> str:
    word = rng.choice(words)
    return (
        f'<a {_tracking(rng, "nav")} href="https://www.example.com/{word.lower().replace(" ", "-")}/'
        f'{rng.randint(2015, 2025)}/{_slug(rng)}.html?utm_source=site&amp;utm_medium=nav">'
        f"{html.escape(word)}</a>"
    )


def _head(rng: random.Random, article: Article, scripts: int) -> str:
    title = html.escape(article.title)
    iso = article.when.isoformat().replace("+00:00", "Z")
    metas = [
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f'<meta property="og:site_name" content="{article.site}">',
        f'<meta property="og:title" content="{title}">',
        '<meta property="og:type" content="article">',
        f'<meta property="article:published_time" content="{iso}">',
        f'<meta name="author" content="{article.author}">',
        f'<meta name="twitter:title" content="{title}">',
        '<meta name="twitter:card" content="summary_large_image">',
    ]
    metas += [f'<meta name="x-tag-{n}" content="{rng.choice(_TOPICS)}">' for n in range(rng.randint(8, 25))]
    links = [f'<link rel="preload" href="/static/{n}.woff2" as="font">' for n in range(rng.randint(3, 10))]
    links.append('<link rel="stylesheet" href="/static/site.css">')
    tags = [f'<script src="/static/vendor-{n}.js" async></script>' for n in range(scripts)]
    tags.append("<script>window.dataLayer=window.dataLayer||[];function gtag(){dataLayer.push(arguments)}"
                "gtag('js',new Date());gtag('config','G-BENCH');</script>")  # fmt: skip
    style = "<style>" + "".join(f".c{n}{{margin:{n % 7}px;color:#{n:03x}}}" for n in range(200)) + "</style>"
    return (f'<!DOCTYPE html><html lang="en"><head>{"".join(metas)}<title>{title} | {article.site}</title>'
            f'{"".join(links)}{style}{"".join(tags)}')  # fmt: skip


def _json_ld(article: Article) -> str:
    data = {"@context": "https://schema.org", "@type": "NewsArticle", "headline": article.title,
            "datePublished": article.when.isoformat(), "author": {"@type": "Person", "name": article.author},
            "publisher": {"@type": "Organization", "name": article.site}}  # fmt: skip
    return f'<script type="application/ld+json">{json.dumps(data)}</script>'


def _hydration(rng: random.Random, size: int) -> str:
    """A front-end framework's serialized state: ``size`` bytes of JSON in one script."""
    story = {"id": 0, "headline": "", "teaser": "", "section": "", "image": {"src": "", "w": 0, "h": 0}}
    items: list[dict[str, object]] = []
    while len(items) * 160 < size:
        story = {**story, "id": rng.randint(1, 10**7), "headline": rng.choice(TEASERS),
                 "teaser": rng.choice(TEASERS), "section": rng.choice(_SECTIONS)}  # fmt: skip
        items.append(story)
    return f"<script>window.__PRELOADED_STATE__={json.dumps({'stories': items})};</script>"


def _mega_menu(rng: random.Random) -> str:
    columns = "".join(
        f'<li class="menu-section"><span>{section}</span><div class="sub"><ul>'
        + "".join(f"<li>{_link(rng, _TOPICS)}</li>" for _ in range(rng.randint(6, 14)))
        + "</ul></div></li>"
        for section in rng.sample(_SECTIONS, rng.randint(8, 14))
    )
    return (f'<header class="site-header"><div class="top-bar"><a class="logo" href="/">{_svg(rng, "logo")}'
            f'</a><button class="menu">{_svg(rng, "menu")}</button><form class="search" action="/search">'
            f'<input name="q" placeholder="Search"><button>{_svg(rng, "search")}</button></form>'
            f'<a class="subscribe" href="/subscribe">Subscribe</a><a href="/login">Log in</a></div>'
            f'<nav class="mega"><ul>{columns}</ul></nav><div class="trending"><span>Trending:</span>'
            f'{"".join(_link(rng, _TOPICS) for _ in range(rng.randint(4, 8)))}</div></header>')  # fmt: skip


def _ad(rng: random.Random, slot: int) -> str:
    return (f'<!-- ad slot {slot} --><div class="ad ad-{slot}"><div class="ad-label">Advertisement</div>'
            f'<div id="gpt-{slot}-{rng.randint(100, 999)}" class="ad-container"><div class="ad-inner">'
            f'<iframe title="ad" src="about:blank"></iframe></div></div></div>')  # fmt: skip


def _card(rng: random.Random, n: int) -> str:
    return (f'<div class="card c-card c-card--horizontal u-mb-2"><a {_tracking(rng, "card")} '
            f'href="https://www.example.com/news/{rng.randint(2015, 2025)}/{_slug(rng)}.html"><picture>'
            f'<source srcset="/i/{n}.webp 1x, /i/{n}@2x.webp 2x" type="image/webp"><img src="/i/{n}.jpg" '
            f'alt="" loading="lazy"></picture><h3>{rng.choice(TEASERS)}</h3></a><span class="meta">'
            f'<span class="section">{rng.choice(_SECTIONS)}</span><time>{rng.randint(1, 23)}h ago</time>'
            f"</span></div>")  # fmt: skip


def _river(rng: random.Random, cards: int) -> str:
    if not cards:
        return ""
    rows = "".join(
        f'<li>{_card(rng, n)}<a class="dek" href="/story/{rng.randint(1, 99999)}">'
        f"{rng.choice(TEASERS)}.</a></li>"
        for n in range(cards)
    )
    return f'<section class="river"><h2>More stories</h2><ul class="river-list">{rows}</ul></section>'


def _share(rng: random.Random) -> str:
    buttons = "".join(f'<li><a class="share-{name}" href="#">{_svg(rng, name)}<span>{name}</span></a></li>'
                      for name in ("facebook", "x", "email", "print", "copy"))  # fmt: skip
    return f'<div class="share-bar"><ul>{buttons}</ul></div>'


def _figure(rng: random.Random, title: str) -> str:
    n = rng.randint(1, 9999)
    return (f'<figure class="lead-art"><picture><source media="(min-width: 1024px)" srcset="/i/{n}-l.jpg">'
            f'<source media="(min-width: 600px)" srcset="/i/{n}-m.jpg"><img src="/i/{n}.jpg" alt="">'
            f"</picture><figcaption>{html.escape(title[:60])} (Staff photo)</figcaption>"
            "</figure>")  # fmt: skip


def _body(rng: random.Random, paragraphs: list[str], promos: bool) -> str:
    parts = []
    for index, paragraph in enumerate(paragraphs):
        parts.append(f"<p>{html.escape(paragraph)}</p>")
        if promos and index % 4 == 2:
            parts.append(f'<div class="inline-promo"><span>Related:</span> <a href="/story/'
                         f'{rng.randint(1, 99999)}">{rng.choice(TEASERS)}</a></div>')  # fmt: skip
        if promos and index % 6 == 4:
            parts.append(_ad(rng, 100 + index))
    return "".join(parts)


def _most_read(rng: random.Random) -> str:
    rows = "".join(
        f'<li><span class="rank">{n}</span>{_card(rng, n)}</li>' for n in range(1, rng.randint(6, 11))
    )
    return f'<aside class="most-read"><h2>Most read</h2><ol>{rows}</ol></aside>'


def _newsletter(rng: random.Random) -> str:
    options = "".join(f"<option>{topic}</option>" for topic in rng.sample(_TOPICS, rng.randint(6, 16)))
    return (f'<div class="newsletter"><h3>Get the morning briefing</h3><form><label for="nl-email">Email'
            f'</label><input id="nl-email" type="email"><label>Topics</label><select>{options}</select>'
            f"<button>Sign up</button></form></div>")  # fmt: skip


def _comments(rng: random.Random, count: int) -> str:
    rows = "".join(
        f'<li class="comment"><div class="comment-meta"><img class="avatar" src="/a/{n}.png" alt="">'
        f'<span class="who">reader{rng.randint(1, 9999)}</span><time>{rng.randint(1, 59)} min ago'
        "</time></div>"
        f'<div class="comment-body"><p>{rng.choice(TEASERS)}?</p></div><div class="comment-actions">'
        f"<button>Reply</button><button>Like</button></div></li>"
        for n in range(count)
    )  # fmt: skip
    return f'<section id="comments" class="comments"><h3>{count} comments</h3><ol>{rows}</ol></section>'


def _footer(rng: random.Random, site: str, year: int) -> str:
    columns = "".join(
        f'<div class="footer-col"><h4>{section}</h4><ul>'
        + "".join(f"<li>{_link(rng, _TOPICS + _SECTIONS)}</li>" for _ in range(rng.randint(5, 14)))
        + "</ul></div>"
        for section in rng.sample(_SECTIONS, rng.randint(4, 8))
    )
    social = "".join(f'<a href="#">{_svg(rng, name)}</a>' for name in ("fb", "x", "ig", "yt", "rss"))
    return (f'<footer class="site-footer"><div class="footer-cols">{columns}</div><div class="social">'
            f"{social}"
            f'</div><p class="legal">© {year} {site}. <a href="/terms">Terms</a> · <a href="/privacy">'
            f'Privacy</a> · <a href="/ccpa">Do not sell my info</a></p></footer>')  # fmt: skip


def _scripts(rng: random.Random, count: int) -> str:
    chunk = "window.__ads=window.__ads||[];__ads.push({slot:'s%d',sizes:[[300,250],[728,90]]});"
    return "".join(f"<script>{chunk % n}</script>" for n in range(count))


def _byline(article: Article) -> str:
    iso = article.when.isoformat().replace("+00:00", "Z")
    return (f'<div class="byline"><span>By <a rel="author" href="/staff/{article.author.split()[0].lower()}">'
            f'{article.author}</a></span><time datetime="{iso}">{article.when:%B %d, %Y}</time>'
            "</div>")  # fmt: skip


def render_page(template: int, rng: random.Random, article: Article) -> str:
    """The page for ``article`` in one of five site templates (``template % 5``), indented the way
    servers send it (the whitespace between tags is text nodes for the parser, as on real pages)."""
    return _page(template, rng, article).replace("><", ">\n    <")


def _page(template: int, rng: random.Random, article: Article) -> str:
    heavy = rng.random() < 0.15  # one page in seven carries a big framework state, as real sites do
    # "More stories" rivers make the spread of page weight: most pages carry a short one, some a
    # long one (RIVER_MU / RIVER_SIGMA are calibrated against real pages by bench/reference.py).
    river = _river(rng, min(400, int(rng.lognormvariate(RIVER_MU, RIVER_SIGMA))))
    hydration = river + (_hydration(rng, rng.randint(200_000, 2_500_000)) if heavy else "")
    h1 = f"<h1>{html.escape(article.title)}</h1>"
    year = article.when.year
    kind = template % 5
    if kind == 0:  # metro daily
        return (f"{_head(rng, article, rng.randint(8, 20))}{_json_ld(article)}</head><body class=\"article\">"
                f"{_ad(rng, 0)}{_mega_menu(rng)}<div class=\"breadcrumb\"><a href=\"/\">Home</a> › "
                f"<a href=\"/local\">Local</a></div><main><article>{h1}{_byline(article)}{_share(rng)}"
                f"{_figure(rng, article.title)}<div class=\"article-body\">"
                f"{_body(rng, article.paragraphs, True)}</div><div class=\"tags\">"
                f"{''.join(_link(rng, _TOPICS) for _ in range(5))}</div></article>{_most_read(rng)}"
                f"{_newsletter(rng)}<div class=\"related\">{''.join(_card(rng, n) for n in range(8))}</div>"
                f"{_comments(rng, rng.randint(0, 12))}</main>{_footer(rng, article.site, year)}"
                f"{_scripts(rng, rng.randint(6, 16))}{hydration}</body></html>")  # fmt: skip
    if kind == 1:  # WordPress blog
        widgets = "".join(f'<div class="widget"><h3>{section}</h3><ul>'
                          + "".join(f"<li>{_link(rng, _TOPICS)}</li>" for _ in range(rng.randint(5, 15)))
                          + "</ul></div>" for section in rng.sample(_SECTIONS, 4))  # fmt: skip
        return (f"{_head(rng, article, rng.randint(5, 12))}</head><body class=\"single-post\">"
                f"{_mega_menu(rng)}<div id=\"page\"><div id=\"primary\"><article class=\"post\"><header "
                f"class=\"entry-header\">{h1}<div class=\"entry-meta\">Posted on {article.when:%Y-%m-%d} by "
                f"{article.author}</div></header>{_figure(rng, article.title)}<div class=\"entry-content\">"
                f"{_body(rng, article.paragraphs, False)}</div>{_share(rng)}</article>"
                f"{_comments(rng, rng.randint(2, 25))}</div><div id=\"secondary\">{widgets}"
                f"{_newsletter(rng)}</div></div>{_footer(rng, article.site, year)}"
                f"{_scripts(rng, rng.randint(3, 10))}{hydration}</body></html>")  # fmt: skip
    if kind == 2:  # county press release
        departments = "".join(f"<li>{_link(rng, _TOPICS)} <span>(555) 010-{rng.randint(1000, 9999)}"
                              "</span></li>"
                              for _ in range(rng.randint(15, 40)))  # fmt: skip
        return (f"{_head(rng, article, rng.randint(3, 8))}</head><body><div id=\"skip\"><a href=\"#content\">"
                f"Skip to content</a></div><div class=\"gov-banner\">An official website of the county"
                f"</div>{_mega_menu(rng)}<div class=\"layout\"><nav class=\"side\"><h2>Departments</h2><ul>"
                f"{departments}</ul></nav><div id=\"content\"><p>FOR IMMEDIATE RELEASE</p>{h1}"
                f"<p>{article.when:%B %d, %Y}</p>{_body(rng, article.paragraphs, False)}<p>Media contact: "
                f"Office of Public Information</p></div></div>{_footer(rng, article.site, year)}"
                f"{hydration}</body></html>")  # fmt: skip
    if kind == 3:  # TV station
        return (f"{_head(rng, article, rng.randint(10, 25))}{_json_ld(article)}</head><body>"
                f"<div class=\"cookie\">We use cookies. <button>Accept</button><button>Settings</button>"
                "</div>"
                f"{_mega_menu(rng)}<div class=\"weather-bar\">"
                f"{''.join(_link(rng, _TOPICS) for _ in range(6))}"
                f"</div><div class=\"video\"><video src=\"/v/{rng.randint(1, 999)}.mp4\"></video>"
                f"<div class=\"playlist\">{''.join(_card(rng, n) for n in range(6))}</div></div>"
                f"<div class=\"story\">{h1}{_byline(article)}<div class=\"story-body\">"
                f"{_body(rng, article.paragraphs, True)}</div></div><div class=\"related\">"
                f"{''.join(_card(rng, n) for n in range(rng.randint(8, 16)))}</div>{_most_read(rng)}"
                f"{_footer(rng, article.site, year)}{_scripts(rng, rng.randint(10, 20))}{hydration}"
                f"</body></html>")  # fmt: skip
    # lean mobile page: a compact menu, the story, a few cards, a short footer
    return (
        f"{_head(rng, article, 2)}</head><body>{_mega_menu(rng)}<article>{h1}<p>{article.author}</p>"
        f'{_body(rng, article.paragraphs, False)}</article><div class="related">'
        f"{''.join(_card(rng, n) for n in range(6))}</div>{_footer(rng, article.site, year)}</body></html>"
    )
