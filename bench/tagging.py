"""Tagging throughput on synthetic article-length texts (the benchmark's ``tag_items_per_s``).

Texts are generated deterministically from the gazetteer and sentence templates (~4-5 KB each:
a headline, a dateline, quotes, attributions and filler), so the rate is comparable across runs.
"""

from __future__ import annotations

import random
import time

from pipeline.tagging.gazetteer import load_gazetteer
from pipeline.tagging.tagger import tag_item
from pipeline.tagging.types import TagInput

_HEADLINES = (
    "{county} sheriff ends 287(g) agreement with ICE",
    "{city} council votes on contract to house ICE detainees",
    "{county} signs agreement to work with immigration enforcement",
    "{city} adopts new policy limiting cooperation with federal immigration agents",
)
_SENTENCES = (
    "{city}, {state} — The {county} Sheriff's Office said Tuesday it would review its jail contract with "
    "U.S. Immigration and Customs Enforcement.",
    '"We have a duty to keep every resident safe," said Sheriff {name}, who was elected in {year}.',
    "Advocates said the agreement had led to racial profiling, while supporters argued it protects public "
    "safety.",
    "The {city} City Council met for more than four hours and heard from dozens of residents.",
    "According to county records, the jail held an average of {n} ICE detainees per day last year.",
    "Critics of the program say it erodes community trust; the sheriff's office disputes that.",
    "The agreement, first signed in {year}, was renewed twice by the county commissioners.",
    "Officials in neighboring {other} said they had no plans to change their own policies.",
    "The vote is scheduled for next month, and a public hearing will be held beforehand.",
    "Weather in {city} was mild, and the meeting room at City Hall was full well before 6 p.m.",
)
_NAMES = ("Garcia", "Miller", "Nguyen", "Johnson", "Okafor", "Schmidt", "Rivera", "Kowalski")


def synthetic_items(n_items: int, *, seed: int = 7, sentences: int = 40) -> list[TagInput]:
    """``n_items`` deterministic article-length items about random real places."""
    gaz = load_gazetteer()
    rng = random.Random(seed)
    places = sorted(
        {p for group in gaz.places_by_name.values() for p in group if p.population > 20_000},
        key=lambda p: p.key,
    )
    counties = sorted({p for group in gaz.counties_by_name.values() for p in group}, key=lambda p: p.key)
    items = []
    for index in range(n_items):
        city = rng.choice(places)
        county = rng.choice([c for c in counties[::7] if c.state == city.state] or counties)
        other = rng.choice(places)
        state = gaz.states_by_code[city.state].name
        fields = {
            "city": city.name,
            "county": county.name,
            "state": state,
            "other": other.name,
            "name": rng.choice(_NAMES),
            "year": rng.randint(2008, 2024),
            "n": rng.randint(5, 90),
        }
        body = [rng.choice(_SENTENCES).format(**fields) for _ in range(sentences)]
        paragraphs = ["\n".join(body[i : i + 3]) for i in range(0, len(body), 3)]
        items.append(
            TagInput(
                id=f"bench-{index}",
                title=rng.choice(_HEADLINES).format(**fields),
                text="\n\n".join(paragraphs),
                url=f"https://news.example.org/{index}/local-story",
            )
        )
    return items


def measure_tag_rate(n_items: int = 500) -> float:
    """Items tagged per second on one core (gazetteer loaded before timing starts).

    Measured in this process's CPU time, so other load on the machine does not lower the figure.
    """
    items = synthetic_items(n_items)
    tag_item(items[0])
    start = time.process_time()
    for item in items:
        tag_item(item)
    elapsed = time.process_time() - start
    return n_items / elapsed if elapsed > 0 else float("inf")


def measure_long_text_seconds(sizes_mb: tuple[float, ...] = (0.25, 0.5, 1.0, 2.0)) -> dict[float, float]:
    """CPU seconds to tag one item of each size (synthetic articles joined): tagging time should grow
    about linearly with the text's length (issue 17: a 2 MB post once took 41 s)."""
    pool = "\n\n".join(item.text for item in synthetic_items(200))
    tag_item(synthetic_items(1)[0])
    seconds: dict[float, float] = {}
    for size in sizes_mb:
        length = int(size * 1_000_000)
        text = (pool * (length // len(pool) + 1))[:length]
        start = time.process_time()
        tag_item(TagInput(id=f"long-{size}", text=text, url="https://news.example.org/long-post"))
        seconds[size] = round(time.process_time() - start, 2)
    return seconds
