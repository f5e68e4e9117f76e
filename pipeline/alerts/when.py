"""When the decision was taken, as the coverage states it — conservatively.

Only two kinds of statement count:

* an explicit calendar date ("on June 9", "June 9, 2025", "9 June 2025", "Jun. 9"); without a year,
  the year that puts the date nearest to the article's publication;
* a weekday or "yesterday"/"today"/"tonight"/"last week", resolved against the article's own
  publication date (a weekday is the latest such day on or before it).

A sentence about what *will* happen ("will vote June 20", "next Tuesday") gives no date, nor does an
explicit date after the article's publication: neither is a decision taken.

Nothing else ("recently", "earlier this year", ordinal weekdays) is guessed; the e-mail then says
the coverage gives no date. Primary records (287(g) lists, council agendas) carry their own dates
and do not come here.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sept", "sep"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ),
        start=1,
    )
    for name in names
}
# Capitalised only: "may 5" in running text is a verb and a number, "May 5" a date.
_MONTH = r"(?P<month>" + "|".join(m.capitalize() for m in sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_YEAR = r"(?:,?\s+(?P<year>(?:19|20)\d\d))?"
_MONTH_DAY = re.compile(rf"\b{_MONTH}\s+(?P<day>[0-3]?\d)(?:st|nd|rd|th)?\b{_YEAR}")
_DAY_MONTH = re.compile(rf"\b(?P<day>[0-3]?\d)(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH}\b{_YEAR}")
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_WEEKDAY = re.compile(
    r"\b(?P<before>next|this coming|last|this past|on|late|early)?\s*"
    r"(?P<weekday>monday|tuesday|wednesday|thursday|friday|saturday|sunday)"
    r"(?P<after>'s|\s+(?:night|evening|morning|afternoon))?\b",
    re.I,
)
_RELATIVE = re.compile(r"\b(?P<word>yesterday|today|tonight|this morning|this evening|last week)\b", re.I)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"“])")
# A sentence about the future: its weekday may be the next one, so it is not resolved.
_FUTURE = re.compile(
    r"\b(will|is scheduled|are scheduled|is set to|are set to|plans? to|is expected to)\b", re.I
)


@dataclass(frozen=True, kw_only=True)
class DecisionDate:
    day: date
    # the words of the text it was read from, e.g. "on Monday" or "June 9"
    phrase: str
    # "last week": the day is the Monday of that week
    week_only: bool = False

    @property
    def label(self) -> str:
        if self.week_only:
            return f"the week of {long_date(self.day)}"
        return f"{self.day:%A}, {long_date(self.day)}"


# The time zone most of a state's people live in: an article's date and its "Tuesday night" are read
# where it was written (a council story published at 22:00 in Los Angeles is dated that day, not the
# next, as UTC would have it).
_STATE_ZONES = """AL=America/Chicago AK=America/Anchorage AZ=America/Phoenix AR=America/Chicago
CA=America/Los_Angeles CO=America/Denver CT=America/New_York DE=America/New_York DC=America/New_York
FL=America/New_York GA=America/New_York HI=Pacific/Honolulu ID=America/Boise IL=America/Chicago
IN=America/Indiana/Indianapolis IA=America/Chicago KS=America/Chicago KY=America/New_York
LA=America/Chicago ME=America/New_York MD=America/New_York MA=America/New_York MI=America/Detroit
MN=America/Chicago MS=America/Chicago MO=America/Chicago MT=America/Denver NE=America/Chicago
NV=America/Los_Angeles NH=America/New_York NJ=America/New_York NM=America/Denver NY=America/New_York
NC=America/New_York ND=America/Chicago OH=America/New_York OK=America/Chicago OR=America/Los_Angeles
PA=America/New_York RI=America/New_York SC=America/New_York SD=America/Chicago TN=America/Chicago
TX=America/Chicago UT=America/Denver VT=America/New_York VA=America/New_York WA=America/Los_Angeles
WV=America/New_York WI=America/Chicago WY=America/Denver PR=America/Puerto_Rico GU=Pacific/Guam
VI=America/St_Thomas AS=Pacific/Pago_Pago MP=Pacific/Saipan"""
STATE_ZONES = dict(pair.split("=") for pair in _STATE_ZONES.split())


def local_time(at: datetime | None, state: str | None) -> datetime | None:
    """``at`` in the time zone of ``state`` (a USPS code); unchanged for an unknown state."""
    zone = STATE_ZONES.get((state or "").upper())
    if at is None or zone is None:
        return at
    return at.astimezone(ZoneInfo(zone))


def long_date(value: date | datetime) -> str:
    """ "9 June 2025": day first and the month in words, which no reader can misread."""
    return f"{value.day} {value:%B %Y}"


def _explicit(text: str, published: date | None) -> DecisionDate | None:
    for pattern in (_MONTH_DAY, _DAY_MONTH):
        for match in pattern.finditer(text):
            month = _MONTHS[match.group("month").lower()]
            day = int(match.group("day"))
            year_text = match.group("year")
            if year_text:
                years = [int(year_text)]
            elif published is not None:
                years = [published.year - 1, published.year, published.year + 1]
            else:
                continue  # no year and nothing to anchor one on
            candidates = []
            for year in years:
                with contextlib.suppress(ValueError):  # 29 February of a common year
                    candidates.append(date(year, month, day))
            if not candidates:
                continue
            anchor = published or candidates[0]
            chosen = min(candidates, key=lambda d: abs((d - anchor).days))
            return DecisionDate(day=chosen, phrase=match.group(0).strip())
    return None


def _relative(text: str, published: date) -> DecisionDate | None:
    for match in _WEEKDAY.finditer(text):
        before = (match.group("before") or "").lower()
        if before in {"next", "this coming"}:
            continue
        weekday = _WEEKDAYS.index(match.group("weekday").lower())
        back = (published.weekday() - weekday) % 7
        if before in {"last", "this past"} and back == 0:
            back = 7
        return DecisionDate(day=published - timedelta(days=back), phrase=_with_context(text, match))
    relative = _RELATIVE.search(text)
    if relative is None:
        return None
    word = relative.group("word").lower()
    if word == "yesterday":
        return DecisionDate(day=published - timedelta(days=1), phrase=relative.group(0))
    if word == "last week":
        monday = published - timedelta(days=published.weekday() + 7)
        return DecisionDate(day=monday, phrase=relative.group(0), week_only=True)
    return DecisionDate(day=published, phrase=relative.group(0))


def _with_context(text: str, match: re.Match[str]) -> str:
    """The matched words with the word before them ("announced Monday"), so a reader can judge."""
    before = re.search(r"([\w'’-]+)\s*$", text[max(0, match.start() - 40) : match.start()])
    words = match.group(0).strip()
    return f"{before.group(1)} {words}" if before and not match.group("before") else words


def decision_date(text: str | None, published_at: datetime | None) -> DecisionDate | None:
    """The date ``text`` (a sentence carrying the event) gives for it, or None (see module doc)."""
    if not text:
        return None
    published = published_at.date() if published_at is not None else None
    for sentence in _SENTENCE_END.split(text):
        # A sentence about the future names a date still to come (a scheduled vote), not a decision.
        if _FUTURE.search(sentence):
            continue
        found = _explicit(sentence, published)
        if found is not None and published is not None and found.day > published + timedelta(days=1):
            found = None  # after the article was written: not a decision it reports
        if found is None and published is not None:
            found = _relative(sentence, published)
        if found is not None:
            return found
    return None
