"""Place and state names in runs of capitalised words ("Nashville City Council", "St. Paul").

Each run is cut after a sentence-final period and its words looked up in the gazetteer, longest
name first. What a run names depends on its text alone, so each distinct run ("The", "Sheriff",
"Dallas County Sheriff") is looked up once per process and kept (up to ``RUN_CACHE_LIMIT`` runs).
"""

from __future__ import annotations

import re
from functools import lru_cache
from itertools import accumulate

from pipeline.tagging.document import Document
from pipeline.tagging.gazetteer import Gazetteer, Place, norm
from pipeline.tagging.mentions import Mention, overlaps, strip_token
from pipeline.tagging.placewords import CONNECTORS, GOV_AFTER

_CAP_WORD = r"[A-Z][A-Za-z'’\-]*(?:\.(?:[A-Za-z]\.)*)?"
_CAP_RUN_RE = re.compile(rf"{_CAP_WORD}(?: (?:(?:of|de|del|la|las|los|le|du|upon|on) )?{_CAP_WORD})*")
_CAP_RUN_SPLIT_RE = re.compile(f"({_CAP_RUN_RE.pattern})")


def _split_run(chunk: str, start: int) -> list[list[tuple[int, int, str]]]:
    """A ``_CAP_RUN_RE`` match's words (with "of", "de", "la" ... inside) as runs, split after a
    sentence-final period."""
    runs: list[list[tuple[int, int, str]]] = []
    current: list[tuple[int, int, str]] = []
    # A run's words are separated by single spaces (see _CAP_RUN_RE) and contain none.
    for token in chunk.split(" "):
        end = start + len(token)
        current.append((start, end, token))
        if token.endswith(".") and token.count(".") == 1 and norm(token) not in _RUN_KEEPS:
            runs.append(current)
            current = []
        start = end + 1
    if current:
        runs.append(current)
    return runs


_RUN_KEEPS = ("st.", "ft.", "mt.")


@lru_cache(maxsize=65536)
def _lookup_forms(token: str) -> tuple[str, str]:
    """A run token's lookup form as it is and with a possessive / final period stripped."""
    return norm(token), norm(strip_token(token))


# A gazetteer name found in a run: offsets relative to the run's start, kind, candidates, cues.
_RunHit = tuple[int, int, str, str, tuple[Place, ...], str, str]
RUN_CACHE_LIMIT = 100_000


class _RunHits:
    """The names found in one ``_CAP_RUN_RE`` match depend on its text alone: each distinct match
    ("The", "Sheriff", "Nashville City Council" ...) is looked up once per process, not per item."""

    def __init__(self, gaz: Gazetteer) -> None:
        self.gaz = gaz
        self.cache: dict[str, tuple[_RunHit, ...]] = {}

    def __call__(self, chunk: str) -> tuple[_RunHit, ...]:
        hits = self.cache.get(chunk)
        if hits is None:
            if len(self.cache) >= RUN_CACHE_LIMIT:
                self.cache.clear()
            hits = self.cache[chunk] = tuple(
                hit for run in _split_run(chunk, 0) for hit in _run_hits(run, self.gaz)
            )
        return hits


_RUN_HITS: list[_RunHits] = []


def _run_hits_of(gaz: Gazetteer) -> _RunHits:
    if not _RUN_HITS or _RUN_HITS[0].gaz is not gaz:
        _RUN_HITS[:] = [_RunHits(gaz)]
    return _RUN_HITS[0]


def _run_hits(run: list[tuple[int, int, str]], gaz: Gazetteer) -> list[_RunHit]:
    forms = [_lookup_forms(w) for _, _, w in run]
    plain = [form[0] for form in forms]
    stripped = [form[1] for form in forms]
    hits: list[_RunHit] = []
    i = 0
    while i < len(run):
        longest = gaz.first_words.get(stripped[i] if i == len(run) - 1 else plain[i], 0)
        if not longest and i < len(run) - 1:
            longest = 1 if stripped[i] in gaz.first_words else 0
        if plain[i] in CONNECTORS or not longest:
            i += 1
            continue
        hit: tuple[int, str, tuple[Place, ...]] | None = None
        for size in range(min(longest, len(run) - i), 0, -1):
            key = " ".join([*plain[i : i + size - 1], stripped[i + size - 1]])
            if key in gaz.states_by_name:
                hit = (size, "state", (gaz.states_by_name[key],))
                break
            found = gaz.places_by_name.get(key)
            if found:
                hit = (size, "place", found)
                break
        if hit is None:
            i += 1
            continue
        if hit[1] == "place" and hit[0] > 1 and stripped[i + hit[0] - 1] == "city":
            # "Boulder City Council" is Boulder's council unless "X City" is the bigger place.
            shorter = gaz.places_by_name.get(" ".join(plain[i : i + hit[0] - 1]))
            following = stripped[i + hit[0]] if i + hit[0] < len(run) else ""
            if shorter and following in GOV_AFTER and shorter[0].population > hit[2][0].population:
                hit = (hit[0] - 1, "place", shorter)
        size, kind, candidates = hit
        # The run's words are joined by single spaces: its text from word i to word i + size - 1.
        surface = strip_token(" ".join(w for _, _, w in run[i : i + size]))
        start = run[i][0]
        hits.append(
            (
                start,
                start + len(surface),
                surface,
                kind,
                candidates,
                f"prev:{stripped[i - 1]}" if i > 0 else "prev:",
                f"next:{stripped[i + size]}" if i + size < len(run) else "next:",
            )
        )
        i += size
    return hits


def find_runs(doc: Document, gaz: Gazetteer, mentions: list[Mention], taken: list[tuple[int, int]]) -> None:
    run_hits = _run_hits_of(gaz)
    # The text cut into [between, run, between, run, ..., between]: runs at odd indices, each run's
    # offset the length of everything before it. Most runs name nothing ("The", "Sheriff").
    parts = _CAP_RUN_SPLIT_RE.split(doc.text)
    runs = parts[1::2]
    found = list(map(run_hits.cache.get, runs))
    offsets = list(accumulate(map(len, parts)))
    for index in [i for i, hits in enumerate(found) if hits != ()]:
        hits = found[index]
        if hits is None:
            hits = run_hits(runs[index])
            if not hits:
                continue
        base = offsets[2 * index]
        for rel_start, rel_end, surface, kind, candidates, prev, nxt in hits:
            start, end = base + rel_start, base + rel_end
            if not overlaps(taken, start, end):
                mention = Mention(
                    start=start,
                    end=end,
                    surface=surface,
                    kind=kind,
                    candidates=candidates,
                    cues={prev, nxt},
                    prev_word=prev[5:],
                    next_word=nxt[5:],
                )
                mentions.append(mention)
