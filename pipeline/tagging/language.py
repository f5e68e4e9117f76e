"""Cheap language identification by stopword share (no model): good enough to flag non-English items."""

from __future__ import annotations

import re
from collections import Counter

_WORD_RE = re.compile(r"[^\W\d_]+")


def _words(text: str) -> list[str]:
    return text.split()


STOPWORDS: dict[str, frozenset[str]] = {
    "en": frozenset(
        _words(
            "the of and to in is that for it on with as was by at from this be are have has an not which"
            " or but its they their will would been said"
        )
    ),
    "es": frozenset(
        _words(
            "el la los las de del que y en un una por con para es se su al lo como más pero sus le ya o"
            " fue ha esta este son"
        )
    ),
    "fr": frozenset(
        _words(
            "le la les de des du et en un une est que qui dans pour pas sur au aux ce il elle par plus"
            " avec ne se sont été cette"
        )
    ),
    "de": frozenset(
        _words(
            "der die das und ist nicht ein eine zu den von mit sich des auf für im dem als auch es an"
            " wird werden wurde bei oder"
        )
    ),
    "pt": frozenset(
        _words(
            "o a os as de do da dos das e em um uma que para com não por se na no mais mas foi ao como"
            " são está pelo pela"
        )
    ),
    "it": frozenset(
        _words(
            "il lo la gli le di del della e è in un una che per con non si da al alla sono come più ma"
            " anche dei nel nella"
        )
    ),
    "nl": frozenset(
        _words(
            "de het een en van in is dat op te zijn voor met die niet aan er ook als bij door maar om dan"
            " wordt werd"
        )
    ),
}
MIN_WORDS = 8
MIN_SHARE = 0.12


def detect_language(text: str, *, max_chars: int = 1500) -> str | None:
    """ISO 639-1 code of the best-matching language, or None when the text is too short or unclear."""
    words = _WORD_RE.findall(text[:max_chars])
    if len(words) < MIN_WORDS:
        return None
    # Each distinct word is counted once, then looked up in every language's stopwords.
    counts = Counter(map(str.lower, words))
    best, best_share = None, 0.0
    for code, stops in STOPWORDS.items():
        share = sum(counts[stop] for stop in stops if stop in counts) / len(words)
        if share > best_share:
            best, best_share = code, share
    return best if best_share >= MIN_SHARE else None
