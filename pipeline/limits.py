"""Size limits that hold per item, and the one function that applies them.

One item must not cost everyone else (see :mod:`pipeline.failures`): a 4 MB post stored three times
made a 12 MB document that Elasticsearch refused, and tagging time grows faster than the text.
So each text is capped where it enters a step, and the item says so (``text_truncated: true``
and the original length), so nothing is cut silently:

* stored: ``text`` at :data:`STORED_TEXT_CHARS`, ``summary`` and a post's own text at
  :data:`STORED_SUMMARY_CHARS` (``pipeline.store.items``);
* tagged: the text handed to the tagger at :data:`TAGGED_TEXT_CHARS`, in enrich and in
  ``muniwatch tag`` alike (a local news article is 2–20 thousand characters; the first 100
  thousand of anything longer hold its jurisdiction, stance and event).
"""

from __future__ import annotations

from dataclasses import dataclass

STORED_TEXT_CHARS = 200_000
STORED_SUMMARY_CHARS = 20_000
TAGGED_TEXT_CHARS = 100_000
# A cut looks back this far for a space, so that it does not split a word.
_WORD_BOUNDARY_LOOKBACK = 200


@dataclass(frozen=True, kw_only=True)
class CappedText:
    text: str
    truncated: bool
    original_chars: int


def cap_text(text: str, limit: int) -> CappedText:
    """``text`` cut to at most ``limit`` characters (at a space when one is near the cut)."""
    if len(text) <= limit:
        return CappedText(text=text, truncated=False, original_chars=len(text))
    cut = text[:limit]
    space = cut.rfind(" ", limit - _WORD_BOUNDARY_LOOKBACK)
    if space > 0:
        cut = cut[:space]
    return CappedText(text=cut, truncated=True, original_chars=len(text))
