"""Which of the tagger's literal strings occur in a text, found in one pass over it.

The lexicons gate each regex on a literal it must contain (``lexicons.MultiPattern``,
``lexicons.PhraseMatcher``), and a few steps look for fixed words (state demonyms): some 300
substring tests per text, each a scan of the whole text. Every such literal is registered here,
and ``present(text)`` finds all of them at once with an Aho-Corasick automaton (pyahocorasick),
about 15 times cheaper. Without pyahocorasick the same set is computed with one ``in`` test per
literal: the results are identical either way, only the cost differs.

The last few texts' answers are kept (by identity): the tagger asks about the same lower-cased
text from a dozen patterns in a row.
"""

from __future__ import annotations

import operator
import threading
from collections.abc import Iterable
from typing import Any

try:  # pragma: no cover - which branch runs depends on the environment
    import ahocorasick

    HAVE_AUTOMATON = True
except ImportError:  # pragma: no cover
    HAVE_AUTOMATON = False

RECENT_TEXTS = 4
_second = operator.itemgetter(1)  # the automaton yields (end offset, literal)

_lock = threading.Lock()
_registered: dict[str, None] = {}  # insertion-ordered set of every literal asked about
_automaton: Any = None
_automaton_size = -1
# (text, how many literals were registered when it was scanned, the literals found in it)
_recent: list[tuple[str, int, frozenset[str]]] = []


def register(literals: Iterable[str]) -> None:
    """Add literals to the set that ``present`` reports on (patterns do so when they are built)."""
    with _lock:
        for literal in literals:
            if literal:
                _registered[literal] = None


def _automaton_now() -> Any:
    """The automaton over every registered literal, rebuilt when literals were added since."""
    global _automaton, _automaton_size
    with _lock:
        if _automaton_size != len(_registered):
            automaton = ahocorasick.Automaton()
            for literal in _registered:
                automaton.add_word(literal, literal)
            automaton.make_automaton()
            _automaton, _automaton_size = automaton, len(_registered)
        return _automaton


def scan(text: str) -> frozenset[str]:
    """The registered literals occurring in ``text`` (no cache)."""
    if HAVE_AUTOMATON and _registered:
        return frozenset(map(_second, _automaton_now().iter(text)))
    return scan_each(text)


def scan_each(text: str) -> frozenset[str]:
    """The same set as ``scan``, with one substring test per literal (the fallback, and its check)."""
    return frozenset(literal for literal in list(_registered) if literal in text)


def cached(text: str) -> frozenset[str] | None:
    """``present(text)`` if it is at hand (asked for lately), else None."""
    size = len(_registered)
    for seen, seen_size, found in _recent:
        if seen is text and seen_size == size:
            return found
    return None


def present(text: str) -> frozenset[str]:
    """The registered literals occurring in ``text`` (a literal not registered is never in it)."""
    found = cached(text)
    if found is not None:
        return found
    size = len(_registered)
    found = scan(text)
    with _lock:
        _recent.insert(0, (text, size, found))
        del _recent[RECENT_TEXTS:]
    return found
