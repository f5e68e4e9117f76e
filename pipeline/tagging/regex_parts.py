"""What a regex's source says about every match: its top-level branches, the plain characters it
must start with, a literal it must contain. Used to skip regex scans that cannot match (gates) and
to try a regex only where a match can start (``scan``)."""

from __future__ import annotations

_META = set("\\()[]{}|?*+.^$")


def required_literal(pattern: str) -> str:
    """The longest plain substring every match of ``pattern`` must contain ("" if none is sure).

    Lets the matcher skip a phrase with one ``in`` test instead of a regex scan: most phrases are absent
    from most texts, and a substring test is two orders of magnitude cheaper than an alternation.
    """
    depth = 0
    runs: list[str] = []
    current: list[str] = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            runs.append("".join(current))
            current = []
            i += 2
            continue
        if ch in "[{":
            # A character class or a repeat count is no literal; a count also makes what precedes optional.
            close = pattern.find("]" if ch == "[" else "}", i + 1)
            if ch == "{" and current:
                current.pop()
            runs.append("".join(current))
            current = []
            i = close + 1 if close > 0 else len(pattern)
            continue
        if ch in "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "|" and depth == 0:
            return ""
        if ch in _META or depth > 0:
            if ch in "?*+{" and current:
                current.pop()
            runs.append("".join(current))
            current = []
        else:
            current.append(ch)
        i += 1
    runs.append("".join(current))
    best = max(runs, key=len)
    return best if len(best.strip()) >= 3 else ""


def literal_prefix(branch: str) -> str:
    """The plain characters every match of the regex ``branch`` starts with ("" when none are sure)."""
    end = 0
    while end < len(branch) and branch[end] not in _META:
        end += 1
    prefix = branch[:end]
    if end < len(branch) and branch[end] in "?*{":
        prefix = prefix[:-1]  # the last character is optional
    return prefix


def _group_end(pattern: str, start: int) -> int:
    """Offset of the ``)`` closing the group opened at ``start`` (-1 if unbalanced)."""
    depth = 0
    in_class = False
    i = start
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            i += 2
            continue
        if in_class:
            in_class = ch != "]"
        elif ch == "[":
            in_class = True
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return -1


def opening_words(core: str, shortest: int = 3) -> tuple[str, ...]:
    """How every match of ``core`` must begin: one of the plain words opening each top-level
    alternative, or each alternative of a leading ``(?:...)`` group; () when one of them is shorter
    than ``shortest`` characters (or empty: a class, an optional group)."""
    branches = split_alternatives(core)
    if len(branches) > 1:
        gates = [opening_words(b, shortest) for b in branches]
        return tuple(g for group in gates for g in group) if all(gates) else ()
    if core.startswith("(?:"):
        end = _group_end(core, 0)
        if end < 0 or core[end + 1 : end + 2] in ("?", "*", "{"):
            return ()
        options = tuple(literal_prefix(o) for o in split_alternatives(core[3:end]))
    else:
        options = (literal_prefix(core),)
    return options if all(len(o) >= max(shortest, 1) for o in options) else ()


def split_alternatives(pattern: str) -> list[str]:
    """Top-level ``|`` branches of a regex (groups and character classes respected)."""
    parts: list[str] = []
    depth = 0
    in_class = False
    current: list[str] = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            current.append(pattern[i : i + 2])
            i += 2
            continue
        if in_class:
            in_class = ch != "]"
        elif ch == "[":
            in_class = True
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "|" and depth == 0:
            parts.append("".join(current))
            current = []
            i += 1
            continue
        current.append(ch)
        i += 1
    parts.append("".join(current))
    return parts
