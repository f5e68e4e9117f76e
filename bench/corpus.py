"""A generated corpus of news pages and feeds for the benchmark (deterministic for a seed).

Pages imitate what the fetcher meets in the wild: five site templates (``bench.pages``,
calibrated against real news pages by ``bench.reference``), article bodies from 3 to 40
paragraphs, real places from the project's gazetteer, and a mix of relevant stories (jail
contracts, 287(g), detainers, sanctuary votes) and irrelevant ones that still pass the watchlist
(ice rinks, ice storms, ice cream contracts). Every feed entry's title matches a demo watchlist
rule, so every page of the pipeline corpus is polled, fetched, extracted, tagged, clustered and
indexed.
"""

from __future__ import annotations

import html
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

from bench.pages import Article, render_page
from pipeline.tagging.gazetteer import Place, load_gazetteer

# The watchlist the benchmark polls with (the demo's, i.e. config/watchlists.yaml's shape).
BENCH_RULES = ['"ICE contract"', "287(g)", "ICE AND (detainer OR jail OR contract)",
               "sanctuary NEAR/5 (city OR county)"]  # fmt: skip

_RELEVANT_TITLES = (
    "{city} council votes to end ICE contract at city jail",
    "{county} sheriff signs 287(g) agreement with ICE",
    "{county} renews jail contract to hold ICE detainees",
    "{city} adopts policy limiting ICE detainer requests at the jail",
    "{county} commissioners debate ICE contract as deadline nears",
    "{city} mayor defends ICE contract after protest at City Hall",
)
_IRRELEVANT_TITLES = (  # they pass the watchlist, the tagger must call them not relevant
    "ICE STORM: {county} jail runs on generators as power fails",
    "Germany's ICE trains: {city} delegation signs rail contract in Berlin",
    "Wildlife sanctuary near {city} wins county grant for wetlands",
    "ICE STORM closes roads; {county} jail suspends visits",
)
_RELEVANT = (
    "{CITY}, {st} — The {county} Sheriff's Office said {day} it would review its contract with U.S. "
    "Immigration and Customs Enforcement to house federal detainees in the county jail.",
    "Under the agreement, the jail holds people detained by ICE for up to 72 hours while they await "
    "transfer, and the county receives ${rate} per detainee per day.",
    '"We have a duty to keep every resident safe," said Sheriff {name}, who took office in {year}.',
    "Immigrant-rights advocates told the {city} City Council that the 287(g) agreement had led to "
    "racial profiling and eroded trust in local police.",
    "Supporters said the contract lets deputies hand over people charged with serious crimes instead "
    "of releasing them, and that ending it would cost the county {n} jobs.",
    "According to county records, the jail held an average of {n} ICE detainees a day last year.",
    "The council voted {v1}-{v2} after a hearing that lasted past midnight; the measure takes effect "
    "in {month}.",
    "State law already limits how local agencies may answer ICE detainer requests, the county "
    "counsel wrote in a memo to commissioners.",
    "Officials in neighboring {other} said they had no plans to change their own policies.",
)
_IRRELEVANT = (
    "{CITY}, {st} — The {city} Parks Department will reopen the municipal ice rink in {month} under "
    "a new three-year operating contract, officials said {day}.",
    "Skating lessons, hockey leagues and public sessions will continue, and prices rise by ${rate}.",
    "Freezing rain left a glaze of ice across {county}, downing lines and closing schools for {n} "
    "days; crews worked through the night.",
    '"The generators did exactly what they were built to do," said facilities director {name}.',
    "The vendor, a family business founded in {year}, will sell ice cream at {n} parks and pools.",
    "Forecasters expect another cold front next week; residents are asked to check on neighbours.",
    "Officials in neighboring {other} reported similar outages but no injuries.",
)
_FILLER = (
    "The meeting room at City Hall was full well before 6 p.m., and dozens more listened outside.",
    "A public hearing is scheduled for next month, and written comments can be sent to the clerk.",
    "Weather in {city} was mild, and traffic on the main avenue was light for a {day}.",
    "The story was updated with comments from the county administrator's office.",
    "Reporters from three outlets attended; a recording of the session is posted online.",
)
_NAMES = ("Garcia", "Miller", "Nguyen", "Johnson", "Okafor", "Schmidt", "Rivera", "Kowalski", "Haddad")
_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday")
_MONTHS = ("January", "March", "May", "July", "September", "November")
_NAV = ("News", "Local", "Politics", "Sports", "Weather", "Opinion", "Business", "Obituaries", "Events")
_SITES = ("Valley Ledger", "Metro Tribune", "County Courier", "Channel 7 News", "Civic Wire")


@dataclass(kw_only=True)
class Page:
    path: str
    title: str
    summary: str
    published: datetime
    relevant: bool
    body: bytes


@dataclass(kw_only=True)
class Corpus:
    """Pages by path, and feeds (path → RSS/Atom bytes) listing them."""

    pages: dict[str, Page] = field(default_factory=dict)
    feeds: dict[str, bytes] = field(default_factory=dict)

    @property
    def page_bytes(self) -> int:
        return sum(len(p.body) for p in self.pages.values())


def _places(rng: random.Random) -> tuple[list[Place], dict[str, list[Place]]]:
    gaz = load_gazetteer()
    cities = sorted({p for group in gaz.places_by_name.values() for p in group if p.population > 15_000},
                    key=lambda p: p.key)  # fmt: skip
    counties: dict[str, list[Place]] = {}
    for group in gaz.counties_by_name.values():
        for county in group:
            counties.setdefault(county.state, []).append(county)
    for values in counties.values():
        values.sort(key=lambda p: p.key)
    rng.shuffle(cities)
    return cities, counties


def _fields(rng: random.Random, city: Place, county: Place, other: Place) -> dict[str, object]:
    return {
        "city": city.name, "CITY": city.name.upper(), "st": city.state, "county": county.name,
        "other": other.name, "name": rng.choice(_NAMES), "year": rng.randint(2006, 2024),
        "n": rng.randint(3, 95), "rate": rng.randint(40, 180), "v1": rng.randint(4, 7),
        "v2": rng.randint(0, 3), "day": rng.choice(_DAYS), "month": rng.choice(_MONTHS),
    }  # fmt: skip


def build_pages(count: int, *, seed: int = 11, relevant_share: float = 0.7,
                start: datetime = datetime(2025, 6, 1, tzinfo=UTC)) -> list[Page]:  # fmt: skip
    """``count`` article pages under ``/a/<n>.html``; deterministic for a seed."""
    rng = random.Random(seed)
    cities, counties = _places(rng)
    pages = []
    for index in range(count):
        city = cities[index % len(cities)]
        county = rng.choice(counties.get(city.state) or counties[next(iter(counties))])
        values = _fields(rng, city, county, rng.choice(cities))
        relevant = rng.random() < relevant_share
        bank = _RELEVANT if relevant else _IRRELEVANT
        title = rng.choice(_RELEVANT_TITLES if relevant else _IRRELEVANT_TITLES).format(**values)
        size = rng.choice((3, 5, 8, 12, 18, 25, 40))
        sentences = [bank[0].format(**values)] + [
            rng.choice(bank if rng.random() < 0.75 else _FILLER).format(**values) for _ in range(size * 3)
        ]
        paragraphs = [" ".join(sentences[i : i + 3]) for i in range(0, len(sentences), 3)]
        when = start + timedelta(minutes=17 * index)
        article = Article(site=_SITES[index % 5], title=title, when=when, author=f"{rng.choice(_NAMES)} Lee",
                          paragraphs=paragraphs)  # fmt: skip
        markup = render_page(index % 5, rng, article)
        pages.append(Page(path=f"/a/{index}.html", title=title, summary=sentences[0][:280], published=when,
                          relevant=relevant, body=markup.encode("utf-8")))  # fmt: skip
    return pages


def rss(base_url: str, name: str, entries: list[tuple[str, str, str, datetime]]) -> bytes:
    """An RSS 2.0 feed; each entry is (title, link path or URL, summary, published)."""
    items = "".join(
        f"<item><title>{html.escape(title)}</title><link>{link if '://' in link else base_url + link}</link>"
        f'<guid isPermaLink="false">{html.escape(link)}</guid><description>{html.escape(summary)}'
        f"</description><pubDate>{format_datetime(when)}</pubDate></item>"
        for title, link, summary, when in entries
    )
    return (f"<?xml version=\"1.0\" encoding=\"utf-8\"?><rss version=\"2.0\"><channel><title>{name}</title>"
            f"<link>{base_url}/</link><description>{name}</description>{items}</channel></rss>"
            ).encode()  # fmt: skip


def pipeline_corpus(base_url: str, pages: int, *, feeds: int = 20, seed: int = 11) -> Corpus:
    """``pages`` article pages spread over ``feeds`` RSS feeds (``/f/<n>.xml``) that list them."""
    corpus = Corpus()
    built = build_pages(pages, seed=seed)
    for page in built:
        corpus.pages[page.path] = page
    for feed in range(feeds):
        mine = built[feed::feeds]
        corpus.feeds[f"/f/{feed}.xml"] = rss(
            base_url, f"Bench feed {feed}", [(p.title, p.path, p.summary, p.published) for p in mine]
        )
    return corpus


def polling_feeds(base_url: str, count: int, *, entries: int = 20, matching_every: int = 10,
                  seed: int = 13) -> dict[str, bytes]:  # fmt: skip
    """``count`` feeds (``/p/<n>.xml``) of ``entries`` items; every ``matching_every``-th feed has
    one entry that matches the watchlist (the rest is the usual stream of unrelated news)."""
    rng = random.Random(seed)
    start = datetime(2025, 6, 1, tzinfo=UTC)
    feeds = {}
    for index in range(count):
        rows = []
        for position in range(entries):
            when = start + timedelta(minutes=rng.randint(0, 60 * 24 * 30))
            title = f"{rng.choice(_NAV)} roundup {index}-{position}: schools, roads and the weekend"
            if position == 0 and index % matching_every == 0:
                title = f"County weighs ICE contract renewal ({index})"
            rows.append((title, f"/n/{index}/{position}.html", "Brief: " + title, when))
        feeds[f"/p/{index}.xml"] = rss(base_url, f"Poll feed {index}", rows)
    return feeds


_WORDS = (
    "budget",
    "library",
    "bridge",
    "harvest",
    "parade",
    "museum",
    "river",
    "orchard",
    "ferry",
    "festival",
    "clinic",
    "runway",
    "mural",
    "garden",
    "stadium",
    "archive",
    "tunnel",
    "market",
    "quarry",
    "harbor",
    "teachers",
    "nurses",
    "farmers",
    "students",
    "drivers",
    "veterans",
    "tenants",
    "cyclists",
    "bakers",
    "approved",
    "delayed",
    "measured",
    "painted",
    "repaired",
    "counted",
    "opened",
    "closed",
    "moved",
    "quietly",
    "early",
    "twice",
    "again",
    "nearby",
    "downtown",
    "overnight",
    "weekly",
    "slowly",
    "mostly",
    "green",
    "narrow",
    "historic",
    "crowded",
    "seasonal",
    "rural",
    "coastal",
    "northern",
    "public",
    "old",
)


def _distinct_sentences(rng: random.Random, count: int) -> list[str]:
    """Sentences of random words: two stories built from them share almost no word triples."""
    return [" ".join(rng.choice(_WORDS) for _ in range(14)).capitalize() + "." for _ in range(count)]


def alert_pages(count: int, *, seed: int = 17) -> list[Page]:
    """``count`` relevant stories about distinct California cities and counties, different enough
    in wording not to be grouped into one story: one new story, hence one e-mail, each. (Two
    pages on the same county's sheriff taking the same step would rightly be one story.)"""
    rng = random.Random(seed)
    cities, counties = _places(rng)
    california = [c for c in cities if c.state == "CA"][:count]
    sheriffs = list(counties["CA"])
    rng.shuffle(sheriffs)
    pages = []
    for index, city in enumerate(california):
        values = _fields(rng, city, sheriffs[index % len(sheriffs)], rng.choice(california))
        title = _RELEVANT_TITLES[index % len(_RELEVANT_TITLES)].format(**values)
        lead = [_RELEVANT[0].format(**values), rng.choice(_RELEVANT[1:]).format(**values)]
        sentences = lead + _distinct_sentences(rng, 12)
        paragraphs = [" ".join(sentences[i : i + 2]) for i in range(0, len(sentences), 2)]
        when = datetime(2025, 6, 9, tzinfo=UTC) + timedelta(hours=index)
        article = Article(
            site=_SITES[index % 5], title=title, when=when, author="Ana Lee", paragraphs=paragraphs
        )
        markup = render_page(index % 5, rng, article)
        pages.append(Page(path=f"/lat/{index}.html", title=title, summary=lead[0][:280], published=when,
                          relevant=True, body=markup.encode("utf-8")))  # fmt: skip
    return pages
