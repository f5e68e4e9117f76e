"""Highlight fragments as ``muniwatch search`` shows them: each once, and marks that never stop
inside the parentheses of a term such as 287(g)."""

from __future__ import annotations

import re
from collections.abc import Iterable

# "<em>287(g</em>)": the analyzer's tokens are 287 and g, so the mark ends before the ")".
_OPEN_PARENTHESIS_MARK = re.compile(r"<em>([^<]*\([^()<]*)</em>\)")
_TAG = re.compile(r"</?em>")


def distinct_fragments(fragments: Iterable[str]) -> list[str]:
    """Highlight fragments, each shown once: a mark never stops inside parentheses it opened
    ("<em>287(g)</em>"), and a fragment whose text another one already shows (the title, which
    the article's text repeats; an identical fragment) is dropped."""
    marked = [_OPEN_PARENTHESIS_MARK.sub(r"<em>\1)</em>", fragment) for fragment in fragments]
    plain = [" ".join(_TAG.sub("", fragment).split()) for fragment in marked]
    kept = []
    for i, fragment in enumerate(marked):
        shown_elsewhere = any(
            j != i and plain[i] in plain[j] and (len(plain[j]) > len(plain[i]) or j < i)
            for j in range(len(marked))
        )
        if not shown_elsewhere:
            kept.append(fragment)
    return kept
