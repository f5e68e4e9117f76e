"""Watchlist rules: a small boolean query language, matched in Python and translated to Elasticsearch.

Syntax (the same for watchlist rules, subscription ``query`` filters and ``muniwatch search``)::

    ICE                          a term; written in capitals it matches case-sensitively,
                                 so ICE does not match "ice storm" (other terms ignore case)
    287(g)                       punctuation inside a term is fine: it is the phrase "287 g"
    "ICE contract"               a phrase: the words adjacent and in this order
    ICE AND jail, ICE jail       both (adjacent terms are ANDed)
    jail OR detention            either
    NOT rink, ICE NOT storm      without
    ( ... )                      grouping
    sanctuary NEAR/5 city        both within 5 words of each other, in either order; the
                                 operands may be terms, phrases and OR-groups of them

Precedence, strongest first: NOT, NEAR/n, AND (also implicit), OR. Operators are written in
capitals; a lowercase ``and``/``or``/``not``/``near`` is refused (quote it to search the word).

Words follow Unicode word boundaries, close to Elasticsearch's ``standard`` tokenizer, so a
term never matches inside another word (``ICE`` does not match "NOTICE"). A possessive ``'s``
is ignored when matching in Python ("ICE's contract" contains ``ICE``).

Elasticsearch (``Rule.to_es_query``) sees the same structure. The ``standard`` analyzer lowercases,
so a term in capitals is also required in the field's case-preserving ``.cased`` subfield: ``ICE``
matches "ICE" and "ICE's" there, not "ice". One difference remains: the standard tokenizer keeps a
possessive on its word, so a phrase with a possessive matches only in the same form.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Protocol

from pipeline.rules.words import LazyWords, RuleText, Span, is_cased, split_words

LOGGER = logging.getLogger(__name__)

_QUOTES = '"“”'
_NEAR = re.compile(r"^NEAR/(\d+)$")
_OPERATOR_LOOKALIKE = re.compile(r"^(?:and|or|not|near(?:/\S*)?)$", re.IGNORECASE)
MAX_NEAR = 100
# Text fields searched with rules have this case-preserving subfield (pipeline/store/templates/items.json).
CASED_SUBFIELD = ".cased"


class RuleSyntaxError(ValueError):
    """A rule does not parse; the message names the position (1-based character) and the problem."""

    def __init__(self, message: str, position: int | None = None) -> None:
        self.position = position
        super().__init__(f"at position {position}: {message}" if position is not None else message)


# --- words (pipeline/rules/words.py) ------------------------------------------------------------


def _words(text: str, *, strip_possessive: bool = True) -> list[str]:
    return split_words(text, keep_possessive=not strip_possessive)


# --- the syntax tree -------------------------------------------------------------------------


class Node(Protocol):
    def matches(self, doc: RuleText) -> bool: ...
    def render(self) -> str: ...
    def es_query(self, fields: Sequence[str]) -> dict[str, Any]: ...


class _Words:
    """Shared by terms and phrases: a sequence of words that must appear adjacent."""

    raw: str

    @cached_property
    def words(self) -> tuple[str, ...]:
        return tuple(_words(self.raw))

    def spans(self, doc: RuleText) -> list[Span]:
        return doc.phrase_spans(self.words)

    def matches(self, doc: RuleText) -> bool:
        return bool(self.spans(doc))

    def es_query(self, fields: Sequence[str]) -> dict[str, Any]:
        cased = _cased_words(self)
        if len(self.words) == 1 and cased:
            # One word in capitals: the case-preserving subfield alone says it (possessive included).
            return _any_field([_cased_terms(f, cased[0]) for f in fields])
        return _any_field([_with_cased({"match_phrase": {f: {"query": self.raw}}}, f, cased) for f in fields])

    def es_span(self, field_name: str) -> dict[str, Any]:
        tokens = [w.lower() for w in _words(self.raw, strip_possessive=False)]
        if len(tokens) == 1:
            return {"span_term": {field_name: tokens[0]}}
        clauses = [{"span_term": {field_name: t}} for t in tokens]
        return {"span_near": {"clauses": clauses, "slop": 0, "in_order": True}}


@dataclass(frozen=True)
class Term(_Words):
    raw: str

    def render(self) -> str:
        return self.raw


@dataclass(frozen=True)
class Phrase(_Words):
    raw: str

    def render(self) -> str:
        return f'"{self.raw}"'


@dataclass(frozen=True)
class And:
    children: tuple[Node, ...]

    def matches(self, doc: RuleText) -> bool:
        return all(c.matches(doc) for c in self.children)

    def render(self) -> str:
        return " AND ".join(_wrap(c, (Or,)) for c in self.children)

    def es_query(self, fields: Sequence[str]) -> dict[str, Any]:
        return {"bool": {"must": [c.es_query(fields) for c in self.children]}}


@dataclass(frozen=True)
class Or:
    children: tuple[Node, ...]

    def spans(self, doc: RuleText) -> list[Span]:
        return sorted({s for c in self.children for s in _spans(c, doc)})

    def matches(self, doc: RuleText) -> bool:
        return any(c.matches(doc) for c in self.children)

    def render(self) -> str:
        return " OR ".join(_wrap(c, (And,)) for c in self.children)

    def es_query(self, fields: Sequence[str]) -> dict[str, Any]:
        return {"bool": {"should": [c.es_query(fields) for c in self.children], "minimum_should_match": 1}}

    def es_span(self, field_name: str) -> dict[str, Any]:
        return {"span_or": {"clauses": [_es_span(c, field_name) for c in self.children]}}


@dataclass(frozen=True)
class Not:
    child: Node

    def matches(self, doc: RuleText) -> bool:
        return not self.child.matches(doc)

    def render(self) -> str:
        return "NOT " + _wrap(self.child, (And, Or, Near))

    def es_query(self, fields: Sequence[str]) -> dict[str, Any]:
        return {"bool": {"must_not": [self.child.es_query(fields)]}}


@dataclass(frozen=True)
class Near:
    left: Node
    right: Node
    distance: int

    def spans(self, doc: RuleText) -> list[Span]:
        # Either order; the gap is the number of words between the two spans. Overlap is allowed,
        # as in Lucene's unordered span_near, so both sides agree.
        found = set()
        rights = _spans(self.right, doc)
        for ls, le in _spans(self.left, doc):
            for rs, re_ in rights:
                if doc.within(le, rs, self.distance) if rs >= ls else doc.within(re_, ls, self.distance):
                    found.add((min(ls, rs), max(le, re_)))
        return sorted(found)

    def matches(self, doc: RuleText) -> bool:
        return bool(self.spans(doc))

    def render(self) -> str:
        return f"{_wrap(self.left, (Or, Near))} NEAR/{self.distance} {_wrap(self.right, (Or, Near))}"

    def es_query(self, fields: Sequence[str]) -> dict[str, Any]:
        cased = _cased_words(self.left) + _cased_words(self.right)
        return _any_field([_with_cased(self.es_span(f), f, cased) for f in fields])

    def es_span(self, field_name: str) -> dict[str, Any]:
        return {
            "span_near": {
                "clauses": [_es_span(self.left, field_name), _es_span(self.right, field_name)],
                "slop": self.distance,
                "in_order": False,
            }
        }


_SPAN_NODES = (Term, Phrase, Or, Near)


def _spans(node: Node, doc: RuleText) -> list[Span]:
    assert isinstance(node, _SPAN_NODES)  # guaranteed by the parser
    return node.spans(doc)


def _es_span(node: Node, field_name: str) -> dict[str, Any]:
    assert isinstance(node, _SPAN_NODES)
    return node.es_span(field_name)


def _spannable(node: Node) -> bool:
    if isinstance(node, Or):
        return all(_spannable(c) for c in node.children)
    return isinstance(node, _SPAN_NODES)


def _wrap(node: Node, kinds: tuple[type, ...]) -> str:
    text = node.render()
    return f"({text})" if isinstance(node, kinds) else text


def _cased_words(node: Node | _Words) -> list[str]:
    """Words that must appear in capitals wherever ``node`` matches (an OR promises none)."""
    if isinstance(node, _Words):
        return [w for w in node.words if is_cased(w)]
    if isinstance(node, Near):
        return _cased_words(node.left) + _cased_words(node.right)
    return []


def _with_cased(query: dict[str, Any], field_name: str, cased: Sequence[str]) -> dict[str, Any]:
    """Add the capitals test: the ``standard`` analyzer lowercases, so ``ICE`` is also looked up in
    the field's case-preserving ``.cased`` subfield (standard tokenizer, no lowercase filter), where
    a possessive stays attached to its word."""
    if not cased or "." in field_name:
        return query
    return {"bool": {"must": [query, *(_cased_terms(field_name, word) for word in dict.fromkeys(cased))]}}


def _cased_terms(field_name: str, word: str) -> dict[str, Any]:
    variants = [word, *(f"{word}{apostrophe}{s}" for apostrophe in "'’" for s in "sS")]
    return {"terms": {f"{field_name}{CASED_SUBFIELD}": variants}}


def _any_field(queries: list[dict[str, Any]]) -> dict[str, Any]:
    if len(queries) == 1:
        return queries[0]
    return {"bool": {"should": queries, "minimum_should_match": 1}}


def _flatten(kind: type[And] | type[Or], children: Iterable[Node]) -> Node:
    flat: list[Node] = []
    for child in children:
        flat.extend(child.children if isinstance(child, kind) else (child,))
    return flat[0] if len(flat) == 1 else kind(tuple(flat))


# --- lexer and parser ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Token:
    kind: str  # WORD PHRASE LPAREN RPAREN AND OR NOT NEAR END
    text: str
    position: int  # 1-based
    distance: int = 0


def _lex(text: str) -> Iterator[_Token]:
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char.isspace():
            i += 1
        elif char == "(":
            yield _Token("LPAREN", char, i + 1)
            i += 1
        elif char == ")":
            yield _Token("RPAREN", char, i + 1)
            i += 1
        elif char in _QUOTES:
            close = min((p for p in (text.find(q, i + 1) for q in _QUOTES) if p != -1), default=-1)
            if close == -1:
                raise RuleSyntaxError('unterminated quote (a phrase needs a closing ")', i + 1)
            phrase = text[i + 1 : close]
            if not _words(phrase):
                raise RuleSyntaxError("empty phrase: put some words between the quotes", i + 1)
            yield _Token("PHRASE", phrase.strip(), i + 1)
            i = close + 1
        else:
            j = _term_end(text, i)
            yield _classify(text[i:j], i + 1)
            i = j
    yield _Token("END", "", n + 1)


def _term_end(text: str, start: int) -> int:
    """End of a bare term. A '(' inside a term is part of it when closed before any space: 287(g)."""
    j, n = start, len(text)
    while j < n and not text[j].isspace() and text[j] not in _QUOTES and text[j] != ")":
        if text[j] == "(":
            k = j + 1
            while k < n and not text[k].isspace() and text[k] not in '()"“”':
                k += 1
            if j > start and k > j + 1 and k < n and text[k] == ")":
                j = k + 1
                continue
            break
        j += 1
    return j


def _classify(word: str, position: int) -> _Token:
    if word in ("AND", "OR", "NOT"):
        return _Token(word, word, position)
    near = _NEAR.match(word)
    if near:
        distance = int(near.group(1))
        if distance > MAX_NEAR:
            raise RuleSyntaxError(f"NEAR/{distance} is too wide (at most NEAR/{MAX_NEAR})", position)
        return _Token("NEAR", word, position, distance)
    if word == "NEAR" or word.startswith("NEAR/"):
        raise RuleSyntaxError(f"{word!r} needs a distance in words, e.g. NEAR/5", position)
    if _OPERATOR_LOOKALIKE.match(word):
        raise RuleSyntaxError(
            f"{word!r} looks like an operator: write {word.split('/')[0].upper()} in capitals, "
            f'or quote it ("{word}") to search the word',
            position,
        )
    if not _words(word):
        raise RuleSyntaxError(f"term {word!r} has no letters or digits", position)
    return _Token("WORD", word, position)


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = list(_lex(text))
        self.at = 0

    @property
    def peek(self) -> _Token:
        return self.tokens[self.at]

    def take(self) -> _Token:
        token = self.tokens[self.at]
        self.at += 1
        return token

    def parse(self) -> Node:
        if self.peek.kind == "END":
            raise RuleSyntaxError("the rule is empty")
        node = self.parse_or()
        token = self.peek
        if token.kind == "RPAREN":
            raise RuleSyntaxError("unexpected ')' with no '(' before it", token.position)
        if token.kind != "END":  # pragma: no cover - parse_and consumes every other token kind
            raise RuleSyntaxError(f"unexpected {token.text!r}", token.position)
        return node

    def parse_or(self) -> Node:
        children = [self.parse_and()]
        while self.peek.kind == "OR":
            self.take()
            children.append(self.parse_and())
        return _flatten(Or, children)

    def parse_and(self) -> Node:
        children = [self.parse_unary()]
        while self.peek.kind in ("AND", "NOT", "WORD", "PHRASE", "LPAREN"):
            if self.peek.kind == "AND":
                self.take()
            children.append(self.parse_unary())
        return _flatten(And, children)

    def parse_unary(self) -> Node:
        if self.peek.kind == "NOT":
            self.take()
            return Not(self.parse_unary())
        return self.parse_near()

    def parse_near(self) -> Node:
        left_token = self.peek
        node = self.parse_primary()
        while self.peek.kind == "NEAR":
            near = self.take()
            right_token = self.peek
            right = self.parse_primary()
            for operand, token in ((node, left_token), (right, right_token)):
                if not _spannable(operand):
                    raise RuleSyntaxError(
                        f"{near.text} (at position {near.position}) joins only terms, phrases and "
                        "OR-groups of them; this operand contains AND or NOT",
                        token.position,
                    )
            node = Near(node, right, near.distance)
        return node

    def parse_primary(self) -> Node:
        token = self.take()
        if token.kind == "WORD":
            return Term(token.text)
        if token.kind == "PHRASE":
            return Phrase(token.text)
        if token.kind == "LPAREN":
            if self.peek.kind == "RPAREN":
                raise RuleSyntaxError("empty parentheses", token.position)
            node = self.parse_or()
            closing = self.take()
            if closing.kind != "RPAREN":
                raise RuleSyntaxError("'(' is never closed", token.position)
            return node
        if token.kind == "END":
            raise RuleSyntaxError("the rule ends where a term, phrase or '(' was expected", token.position)
        if token.kind == "RPAREN":
            raise RuleSyntaxError("expected a term, phrase or '(' but found ')'", token.position)
        raise RuleSyntaxError(f"expected a term, phrase or '(' but found {token.text}", token.position)


# --- public API ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    """A parsed rule. ``str(rule)`` is its canonical text, which parses back to an equal rule."""

    text: str = field(compare=False)
    root: Node

    def matches(self, *texts: str) -> bool:
        """True when the rule matches; several texts (title, summary, body) are kept apart."""
        return self.root.matches(LazyWords.of(texts))

    def matches_doc(self, doc: RuleText) -> bool:
        return self.root.matches(doc)

    def to_es_query(self, fields: Sequence[str]) -> dict[str, Any]:
        """The same rule as Elasticsearch query DSL over ``fields`` (text fields, standard analyzer)."""
        if not fields:
            raise ValueError("to_es_query needs at least one field")
        return self.root.es_query(list(fields))

    def __str__(self) -> str:
        return self.root.render()


def parse_rule(text: str) -> Rule:
    """Parse one rule; raises :class:`RuleSyntaxError` naming the position of the problem."""
    if not isinstance(text, str):
        raise RuleSyntaxError(f"a rule must be text, not {type(text).__name__}")
    return Rule(text.strip(), _Parser(text).parse())


class _Watchlist(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def rules(self) -> list[str]: ...


@dataclass(frozen=True)
class NamedRule:
    watchlist_id: str
    rule: Rule

    @property
    def label(self) -> str:
        """How a match is recorded on an item (``matched_rules``): ``"watchlist-id: rule"``."""
        return f"{self.watchlist_id}: {self.rule.text}"


class RuleSet:
    """Every rule of every watchlist; ``match(title, summary)`` names the ones that matched."""

    def __init__(self, rules: Iterable[tuple[str, str | Rule]]) -> None:
        self.rules = [
            NamedRule(watchlist_id, rule if isinstance(rule, Rule) else parse_rule(rule))
            for watchlist_id, rule in rules
        ]

    @classmethod
    def from_watchlists(cls, watchlists: Iterable[_Watchlist]) -> RuleSet:
        return cls((w.id, rule) for w in watchlists for rule in w.rules)

    def __len__(self) -> int:
        return len(self.rules)

    def match(self, *texts: str) -> list[str]:
        """Labels ``"watchlist-id: rule"`` of the rules matching the texts, in configuration order."""
        doc = LazyWords.of(texts)
        return [named.label for named in self.rules if named.rule.matches_doc(doc)]

    @staticmethod
    def watchlists_of(labels: Iterable[str]) -> list[str]:
        """Watchlist ids named by match labels, without repeats, in order."""
        return list(dict.fromkeys(label.split(":", 1)[0] for label in labels))
