"""The three configuration files (sources, watchlists, subscriptions), validated on load.

Every error names the file, the line and the field, e.g.::

    config/sources.yaml:7: sources[2].url: an rss source needs a url

Watchlist rules and subscription queries are parsed here too, so a rule that does not parse
is a configuration error at load time, not a surprise during a run.

Limits, so that a careless or hostile file fails at the door with a sentence instead of during a
run: a file over :data:`MAX_CONFIG_BYTES` is refused before it is read; a key written twice in one
mapping is refused with its line (YAML would silently keep the last); ``interval`` lies between
30 s and :data:`MAX_INTERVAL_S`; a rule or query may nest at most :data:`MAX_QUERY_NESTING`
parentheses, hold :data:`MAX_QUERY_TERMS` terms and :data:`MAX_QUERY_NEAR` NEAR operators (what
Elasticsearch is known to take; ``pipeline.alerts.subscriptions`` also asks Elasticsearch itself).

E-mail addresses are delivered as ASCII (no SMTPUTF8 path): an address whose part before the @
needs Unicode (``dèsk@...``) is refused with that reason; an internationalised domain is stored
in its ASCII form (``münchen.de`` → ``xn--mnchen-3ya.de``), unless one of its labels mixes
scripts, as the Cyrillic "а" in ``exаmple.org`` does (a homoglyph of another domain): refused.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from email_validator import EmailNotValidError, validate_email
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from pipeline.models import Event, JurisdictionType, SourceKind, Stance
from pipeline.rules.language import parse_rule
from pipeline.settings import REPO_ROOT

CONFIG_DIR = REPO_ROOT / "config"
DEFAULT_SOURCES = CONFIG_DIR / "sources.yaml"
DEFAULT_WATCHLISTS = CONFIG_DIR / "watchlists.yaml"
DEFAULT_SUBSCRIPTIONS = CONFIG_DIR / "subscriptions.yaml"

# USPS codes of the states, DC and Puerto Rico.
# fmt: off
US_STATES = frozenset((
    "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "DC", "FL", "GA", "HI", "ID", "IL",
    "IN", "IA", "KS", "KY", "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE",
    "NV", "NH", "NJ", "NM", "NY", "NC", "ND", "OH", "OK", "OR", "PA", "RI", "SC", "SD",
    "TN", "TX", "UT", "VT", "VA", "WA", "WV", "WI", "WY", "PR",
))
# Full names (as a user types them: any case, extra spaces) → USPS code; see ``state_code``.
# fmt: off
_STATE_NAMES = {
    "alabama": "AL", "alaska": "AK", "arizona": "AZ", "arkansas": "AR", "california": "CA",
    "colorado": "CO", "connecticut": "CT", "delaware": "DE", "district of columbia": "DC",
    "washington dc": "DC", "washington d.c.": "DC", "florida": "FL", "georgia": "GA", "hawaii": "HI",
    "idaho": "ID", "illinois": "IL", "indiana": "IN", "iowa": "IA", "kansas": "KS", "kentucky": "KY",
    "louisiana": "LA", "maine": "ME", "maryland": "MD", "massachusetts": "MA", "michigan": "MI",
    "minnesota": "MN", "mississippi": "MS", "missouri": "MO", "montana": "MT", "nebraska": "NE",
    "nevada": "NV", "new hampshire": "NH", "new jersey": "NJ", "new mexico": "NM", "new york": "NY",
    "north carolina": "NC", "north dakota": "ND", "ohio": "OH", "oklahoma": "OK", "oregon": "OR",
    "pennsylvania": "PA", "rhode island": "RI", "south carolina": "SC", "south dakota": "SD",
    "tennessee": "TN", "texas": "TX", "utah": "UT", "vermont": "VT", "virginia": "VA",
    "washington": "WA", "west virginia": "WV", "wisconsin": "WI", "wyoming": "WY", "puerto rico": "PR",
}
# fmt: on


def state_code(value: str) -> str:
    """The USPS code for a state given as a code or a full name, in any case ("california",
    " New  York ", "ny"). The one normalisation ``search --state`` and subscriptions share.

    Raises:
        ValueError: not a state; the message quotes the value and gives an example.
    """
    cleaned = " ".join(value.split())
    if cleaned.upper() in US_STATES:
        return cleaned.upper()
    code = _STATE_NAMES.get(cleaned.lower())
    if code is None:
        raise ValueError(
            f"{value!r} is not a US state: use a USPS code such as CA or a name such as California"
        )
    return code


_ID_PATTERN = r"^[a-z0-9][a-z0-9_.-]{0,79}$"
_DURATION = re.compile(r"^\s*([0-9]{1,12})\s*([smhd])\s*$")
MIN_INTERVAL_S = 30
MAX_INTERVAL_S = 30 * 86400
MAX_CONFIG_BYTES = 2 * 1024 * 1024
MAX_QUERY_CHARS = 4000
MAX_QUERY_NESTING = 8
MAX_QUERY_TERMS = 500
MAX_QUERY_NEAR = 8
_QUERY_TOKEN = re.compile(r'"[^"]*"?|[()]|[^\s()"]+')
_OPERATORS = frozenset({"AND", "OR", "NOT"})
_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_HANDLE = re.compile(r"^@?[A-Za-z0-9_]{1,15}$")
# News search feeds: the search engine already matched the full text, so every entry is a candidate.
_SEARCH_FEEDS = (("news.google.com", "/rss/search"),)
DEFAULT_FETCH_BUDGET = 100
DEFAULT_MAX_NEW_ITEMS = 200
# The intake gate for outlet feeds (``topic:`` in watchlists.yaml overrides it): an entry whose
# title and summary touch none of these (nor any watchlist rule) is not fetched. Broad on
# purpose (recall first: the watchlist rules decide on the full text, and a page that matches
# nothing is fetched once and kept), cheap, and no rule needs the word "ICE".
DEFAULT_TOPIC: tuple[str, ...] = (
    "immigration OR immigrant OR immigrants OR migrant OR migrants",
    "undocumented OR noncitizen OR noncitizens OR asylum",
    "deportation OR deportations OR deport OR deported OR deporting OR deportee OR deportees",
    "detention OR detainee OR detainees OR detainer OR detainers",
    '287(g) OR 287g OR sanctuary OR IGSA OR IGSAs OR "Secure Communities"',
    "ICE OR DHS OR CBP OR ERO OR USCIS",
    '"Homeland Security" OR "Border Patrol" OR "Customs and Border Protection" OR "federal agents"',
    '"illegal alien" OR "illegal aliens" OR "illegal immigrant" OR "illegal immigrants"',
    # Sheriffs run the jails that hold people for ICE; 287(g) is mostly theirs.
    'sheriff OR sheriffs OR jail OR jails OR "Customs Enforcement"',
    '"welcoming city" OR "welcoming cities" OR "welcoming community"',
)
_M = TypeVar("_M", bound="BaseModel")


class ConfigError(ValueError):
    """A configuration file is invalid. ``str()`` names file, line and field of each problem."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


def parse_duration(value: object) -> int:
    """``"15m"`` → 900 seconds. Plain integers are seconds. Between 30 s and 30 days."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(f"expected a duration like 30s, 15m, 2h or 1d, not a {type(value).__name__}")
    if isinstance(value, int):
        seconds = value
    else:
        match = _DURATION.match(value)
        if not match:
            raise ValueError(f"{value!r} is not a duration like 30s, 15m, 2h or 1d")
        seconds = int(match.group(1)) * _DURATION_UNITS[match.group(2)]
    if seconds < MIN_INTERVAL_S:
        raise ValueError("an interval shorter than 30s would hammer the source")
    if seconds > MAX_INTERVAL_S:
        raise ValueError(f"an interval longer than {MAX_INTERVAL_S // 86400} days is not polling")
    return seconds


def query_limit_problem(text: str) -> str | None:
    """Why a rule or query is beyond what is parsed and sent to Elasticsearch, or None.

    Checked on the text before parsing: the parser recurses per parenthesis, and Elasticsearch
    refuses (the whole ``_msearch``, for a subscription) queries nested or chained too deeply."""
    if len(text) > MAX_QUERY_CHARS:
        return f"is {len(text):,} characters long; at most {MAX_QUERY_CHARS:,}"
    depth = deepest = terms = near = 0
    for token in _QUERY_TOKEN.findall(text):
        if token == "(":
            depth += 1
            deepest = max(deepest, depth)
        elif token == ")":
            depth = max(0, depth - 1)
        elif token.startswith("NEAR/") or token == "NEAR":
            near += 1
        elif token not in _OPERATORS:
            terms += 1
    if deepest > MAX_QUERY_NESTING:
        return f"nests parentheses {deepest} deep; at most {MAX_QUERY_NESTING}"
    if terms > MAX_QUERY_TERMS:
        return f"has {terms:,} terms; at most {MAX_QUERY_TERMS:,}"
    if near > MAX_QUERY_NEAR:
        return f"chains {near} NEAR operators; at most {MAX_QUERY_NEAR}"
    return None


def _check_rule(rule: str) -> str:
    problem = query_limit_problem(rule)
    if problem:
        raise ValueError(f"it {problem}")
    try:
        parse_rule(rule)
    except RecursionError:
        raise ValueError("it is nested too deeply to parse") from None
    return rule


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RecordJurisdiction(_Strict):
    """The jurisdiction a primary-record source is about (a Legistar client's city or county)."""

    name: Annotated[str, Field(min_length=1)]
    type: JurisdictionType
    state: str

    @field_validator("state")
    @classmethod
    def _state(cls, value: str) -> str:
        if value.upper() not in US_STATES:
            raise ValueError(f"{value!r} is not a USPS state code such as CA or NY")
        return value.upper()


# Primary records (ICE's 287(g) workbooks, Legistar): items are made from the record itself.
RECORD_KINDS = frozenset({"287g_list", "legistar"})
_LEGISTAR_CLIENT = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class SourceConfig(_Strict):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    id: Annotated[str, Field(pattern=_ID_PATTERN)]
    kind: SourceKind
    url: str | None = None
    handle: str | None = None
    query: str | None = None
    interval: int = 900
    home_state: str | None = None
    # Priority sources are also watched by the event-driven trigger in Airflow.
    priority: bool = False
    enabled: bool = True
    # Sources of one group are polled by one Airflow task (coarse tasks, see DESIGN).
    group: str = "default"
    name: str | None = None
    # The source is already a keyword search: every entry is a candidate for fetching, without
    # the topic gate. Unset: true for x_search and Google News search feeds, false otherwise.
    prefiltered: bool | None = None
    # At most this many of the source's pages are fetched per enrich run; the rest stay pending
    # for the next run (counted as waiting), so one busy feed cannot flood a host or the run.
    fetch_budget: Annotated[int, Field(ge=1, le=10_000)] = DEFAULT_FETCH_BUDGET
    # 287g_list: which of ICE's two workbooks (``list:`` in YAML).
    record_list: Literal["participating", "pending"] | None = Field(default=None, alias="list")
    # legistar: the Web API client name (``glendaleca``) and the jurisdiction its records are about.
    client: str | None = None
    jurisdiction: RecordJurisdiction | None = None
    # At most this many new items are enqueued per poll; the rest are left in the feed for the
    # next poll (the feed is then read in full again), so one flooding feed cannot bury the others.
    max_new_items: Annotated[int, Field(ge=1, le=10_000)] = DEFAULT_MAX_NEW_ITEMS

    @field_validator("interval", mode="before")
    @classmethod
    def _interval(cls, value: Any) -> int:
        return parse_duration(value)

    @field_validator("home_state")
    @classmethod
    def _state(cls, value: str | None) -> str | None:
        if value is not None and value.upper() not in US_STATES:
            raise ValueError(f"{value!r} is not a USPS state code such as CA or NY")
        return value.upper() if value else value

    @model_validator(mode="after")
    def _kind_fields(self) -> SourceConfig:
        if self.kind == "rss":
            if not self.url:
                raise ValueError("an rss source needs a url")
            if not self.url.startswith(("http://", "https://")):
                raise ValueError(f"url {self.url!r} must start with http:// or https://")
        elif self.kind == "x_account":
            if not self.handle or not _HANDLE.match(self.handle):
                raise ValueError("an x_account source needs a handle like yashar (letters, digits, _)")
        elif self.kind == "x_search" and not self.query:
            raise ValueError("an x_search source needs a query")
        elif self.kind == "287g_list":
            if self.record_list is None:
                raise ValueError("a 287g_list source needs list: participating or list: pending")
            if not self.url or not self.url.startswith(("http://", "https://")):
                raise ValueError("a 287g_list source needs the workbook's http(s) url")
        elif self.kind == "legistar":
            if not self.client or not _LEGISTAR_CLIENT.match(self.client):
                raise ValueError("a legistar source needs client: the Web API client name, e.g. glendaleca")
            if self.jurisdiction is None:
                raise ValueError("a legistar source needs jurisdiction: {name, type, state}")
            if self.url and not self.url.startswith(("http://", "https://")):
                raise ValueError(f"url {self.url!r} must start with http:// or https://")
        return self

    @property
    def legistar_base(self) -> str:
        """The Legistar Web API base of this client (``url`` overrides the public one)."""
        return (self.url or f"https://webapi.legistar.com/v1/{self.client}").rstrip("/")

    @property
    def x_handle(self) -> str:
        return (self.handle or "").lstrip("@")

    @property
    def is_search(self) -> bool:
        """Every entry is a candidate: ``prefiltered``, or by default an X search or a news search feed."""
        if self.prefiltered is not None:
            return self.prefiltered
        return self.kind == "x_search" or is_search_feed(self.url or "")


def is_search_feed(url: str) -> bool:
    """A news search engine's RSS (Google News ``/rss/search``): its entries matched the query
    on the full text, although the entry itself is only a title and an outlet."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    return any(host == h and parts.path.startswith(p) for h, p in _SEARCH_FEEDS)


def _rule_parses(rule: str) -> str:
    try:
        return _check_rule(rule)
    except ValueError as error:
        raise ValueError(f"rule {rule!r} does not parse: {error}") from error


# Validated one by one, so an error points at the line of the rule itself (rules[2]), not the list.
RuleText = Annotated[str, AfterValidator(_rule_parses)]


class WatchlistConfig(_Strict):
    id: Annotated[str, Field(pattern=_ID_PATTERN)]
    rules: Annotated[list[RuleText], Field(min_length=1)]
    description: str | None = None


class SubscriptionFilter(_Strict):
    query: str | None = None
    jurisdictions: list[str] = []
    states: list[str] = []
    stances: list[Stance] = []
    events: list[Event] = []
    # Only items from these kinds of source, e.g. [287g_list] for list changes only.
    source_kinds: list[SourceKind] = []

    @field_validator("query")
    @classmethod
    def _query_parses(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                _check_rule(value)
            except ValueError as error:
                raise ValueError(f"query {value!r} does not parse: {error}") from error
        return value

    @field_validator("states")
    @classmethod
    def _states(cls, values: list[str]) -> list[str]:
        codes, bad = [], []
        for value in values:
            try:
                codes.append(state_code(value))
            except ValueError:
                bad.append(value)
        if bad:
            raise ValueError(f"not US states (use a USPS code such as CA, or a full name): {', '.join(bad)}")
        return codes


def _scripts(label: str) -> set[str]:
    """Scripts of the letters in a domain label (LATIN, CYRILLIC, GREEK, ...)."""
    return {unicodedata.name(char, "UNKNOWN").split()[0] for char in label if char.isalpha()}


def normalise_email(address: str) -> str:
    """The address as it is delivered (ASCII; see the module docstring), or ValueError saying why not."""
    try:
        valid = validate_email(address, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as error:
        raise ValueError(
            f"{address!r} is not a valid e-mail address: {error} (muniwatch sends ASCII "
            "addresses only: no SMTPUTF8)"
        ) from error
    for label in valid.domain.split("."):
        if len(_scripts(label)) > 1:
            scripts = ", ".join(sorted(_scripts(label)))
            raise ValueError(
                f"{address!r}: the domain label {label!r} mixes scripts ({scripts}), as a look-alike "
                "of another domain would; refused"
            )
    if valid.ascii_email is None:  # pragma: no cover - allow_smtputf8=False guarantees it
        raise ValueError(f"{address!r} has no ASCII form")
    return valid.ascii_email


class SubscriptionConfig(_Strict):
    id: Annotated[str, Field(pattern=_ID_PATTERN)]
    email: str
    mode: Literal["immediate", "daily"] = "immediate"
    filter: SubscriptionFilter = SubscriptionFilter()
    timezone: str = "UTC"
    digest_hour: Annotated[int, Field(ge=0, le=23)] = 7

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        return normalise_email(value)

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(f"{value!r} is not an IANA time zone such as America/Los_Angeles") from error
        return value


class SourcesFile(_Strict):
    sources: list[SourceConfig]


class WatchlistsFile(_Strict):
    watchlists: list[WatchlistConfig]
    # The intake gate for outlet feeds (rules in the same syntax; any one is enough).
    topic: Annotated[list[RuleText], Field(min_length=1)] = list(DEFAULT_TOPIC)


class SubscriptionsFile(_Strict):
    subscriptions: list[SubscriptionConfig] = []


@dataclass(frozen=True, kw_only=True)
class PipelineConfig:
    sources: list[SourceConfig]
    watchlists: list[WatchlistConfig]
    subscriptions: list[SubscriptionConfig]
    # Topic gate rules for outlet feeds (``topic:`` in watchlists.yaml).
    topic: tuple[str, ...] = DEFAULT_TOPIC

    @property
    def rules(self) -> list[tuple[str, str]]:
        """(watchlist id, rule) pairs in file order."""
        return [(w.id, rule) for w in self.watchlists for rule in w.rules]


# --- YAML with line numbers --------------------------------------------------------------


def _duplicate_keys(path: Path, node: yaml.Node | None) -> list[str]:
    """``file:line: key 'x' appears twice in one mapping``: YAML would silently keep the last one."""
    problems: list[str] = []
    stack = [node] if node is not None else []
    while stack:
        current = stack.pop()
        if isinstance(current, yaml.MappingNode):
            seen: dict[str, int] = {}
            for key_node, value_node in current.value:
                if isinstance(key_node, yaml.ScalarNode):
                    line = key_node.start_mark.line + 1
                    if key_node.value in seen:
                        problems.append(
                            f"{path}:{line}: key {key_node.value!r} appears twice in one mapping "
                            f"(first on line {seen[key_node.value]}); keep one"
                        )
                    seen.setdefault(key_node.value, line)
                stack.append(value_node)
        elif isinstance(current, yaml.SequenceNode):
            stack.extend(current.value)
    return problems


def _compose(path: Path) -> tuple[Any, yaml.Node | None]:
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise ConfigError([f"{path}: file not found"]) from None
    except OSError as error:
        raise ConfigError([f"{path}: cannot read: {error}"]) from error
    if size > MAX_CONFIG_BYTES:
        raise ConfigError(
            [f"{path}: {size:,} bytes is over the {MAX_CONFIG_BYTES:,}-byte limit for a configuration file"]
        )
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError([f"{path}: file not found"]) from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError([f"{path}: cannot read: {error}"]) from error
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        line = mark.line + 1 if mark is not None else 0
        raise ConfigError([f"{path}:{line}: YAML syntax error: {error.problem}"]) from error
    except yaml.YAMLError as error:
        raise ConfigError([f"{path}: YAML error: {error}"]) from error
    except RecursionError:
        raise ConfigError([f"{path}: YAML nested too deeply to read"]) from None
    duplicates = _duplicate_keys(path, node)
    if duplicates:
        raise ConfigError(duplicates)
    return data, node


def _line_of(node: yaml.Node | None, loc: Sequence[int | str]) -> int:
    """Line (1-based) of the deepest YAML node along a pydantic error location."""
    line = node.start_mark.line + 1 if node is not None else 1
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                if key_node.value == part:
                    line = key_node.start_mark.line + 1
                    node = value_node
                    break
            else:
                return line
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return line
    return line


def _field_path(loc: Sequence[int | str]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part.startswith(("function-", "literal[")) or part in {"str", "int"}:
            continue  # pydantic's validator markers are no help to a reader
        else:
            path += f".{part}" if path else part
    return path or "(top level)"


def _load_model(path: Path, model: type[_M], what: str) -> _M:
    data, node = _compose(path)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError([f"{path}:1: expected a mapping with a top-level '{what}:' list"])
    try:
        return model.model_validate(data)
    except ValidationError as error:
        problems = []
        for detail in error.errors():
            loc = [p for p in detail["loc"] if isinstance(p, int | str)]
            message = detail["msg"].removeprefix("Value error, ")
            problems.append(f"{path}:{_line_of(node, loc)}: {_field_path(loc)}: {message}")
        raise ConfigError(problems) from None


def _ensure_unique(path: Path, what: str, ids: list[str]) -> None:
    seen: set[str] = set()
    dupes = sorted({i for i in ids if i in seen or seen.add(i)})  # type: ignore[func-returns-value]
    if dupes:
        raise ConfigError([f"{path}: {what} ids must be unique; repeated: {', '.join(dupes)}"])


def load_sources(path: Path = DEFAULT_SOURCES) -> list[SourceConfig]:
    sources = _load_model(path, SourcesFile, "sources").sources
    _ensure_unique(path, "source", [s.id for s in sources])
    return sources


def load_watchlists_file(path: Path = DEFAULT_WATCHLISTS) -> WatchlistsFile:
    """The watchlists and the topic gate (its default when the file has no ``topic:``)."""
    loaded = _load_model(path, WatchlistsFile, "watchlists")
    _ensure_unique(path, "watchlist", [w.id for w in loaded.watchlists])
    return loaded


def load_watchlists(path: Path = DEFAULT_WATCHLISTS) -> list[WatchlistConfig]:
    return load_watchlists_file(path).watchlists


def load_subscriptions(path: Path = DEFAULT_SUBSCRIPTIONS) -> list[SubscriptionConfig]:
    subscriptions = _load_model(path, SubscriptionsFile, "subscriptions").subscriptions
    _ensure_unique(path, "subscription", [s.id for s in subscriptions])
    return subscriptions


def load_config(
    sources: Path = DEFAULT_SOURCES,
    watchlists: Path = DEFAULT_WATCHLISTS,
    subscriptions: Path = DEFAULT_SUBSCRIPTIONS,
) -> PipelineConfig:
    """Load all three files, reporting the problems of every file at once."""
    problems: list[str] = []
    loaded: dict[str, Any] = {}
    for key, path, loader in (
        ("sources", sources, load_sources),
        ("watchlists", watchlists, load_watchlists_file),
        ("subscriptions", subscriptions, load_subscriptions),
    ):
        try:
            loaded[key] = loader(path)
        except ConfigError as error:
            problems.extend(error.problems)
    if problems:
        raise ConfigError(problems)
    lists: WatchlistsFile = loaded.pop("watchlists")
    return PipelineConfig(**loaded, watchlists=lists.watchlists, topic=tuple(lists.topic))
