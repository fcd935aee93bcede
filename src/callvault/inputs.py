"""Values read from requests the same way everywhere: dates and instants within the years that
date arithmetic and the database hold, integers that fit a BIGINT, finite numbers, and never a
number taken for a date. Anything else is a clear InvalidInput (422), never a 500."""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator

from callvault.errors import InvalidInput

# A window wide enough for every real query, narrow enough that a day or a time zone added to
# either end cannot overflow `datetime` (years 1..9999).
EARLIEST_DAY = date(1900, 1, 1)
LATEST_DAY = date(2999, 12, 31)
MAX_BIGINT = 2**63 - 1  # the largest sequence number the database stores
MAX_INTEGER = 2**31 - 1  # the largest plain INTEGER (version numbers, counts)
MAX_DIGITS = 19  # no integer the database holds has more; longer strings are refused unread
_NUMBER = re.compile(r"\s*[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?\s*")


def _not_a_number(value: object) -> object:
    """Pydantic reads `0.5` or `1700000000` as a Unix time; a date parameter wants ISO 8601."""
    if isinstance(value, int | float) or (isinstance(value, str) and _NUMBER.fullmatch(value)):
        raise ValueError("give an ISO 8601 date, not a number")
    return value


def _day_in_range(value: date) -> date:
    if not EARLIEST_DAY <= value <= LATEST_DAY:
        raise ValueError(f"dates run from {EARLIEST_DAY} to {LATEST_DAY}")
    return value


def _instant_in_range(value: datetime) -> datetime:
    # Checked before converting: 9999-12-31T23:59:59-23:59 overflows on the way to UTC.
    _day_in_range(value.date())
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


Day = Annotated[date, BeforeValidator(_not_a_number), AfterValidator(_day_in_range)]
"""A calendar day between EARLIEST_DAY and LATEST_DAY, given as `YYYY-MM-DD`."""
Instant = Annotated[datetime, BeforeValidator(_not_a_number), AfterValidator(_instant_in_range)]
"""An ISO 8601 time in that window, returned in UTC (a time without zone is taken as UTC)."""


def parse_day(raw: str | None) -> date | None:
    """A `YYYY-MM-DD` day in the window, or None (empty, malformed or out of range)."""
    text = (raw or "").strip()
    if not text or len(text) > 10:
        return None
    try:
        return _day_in_range(date.fromisoformat(text))
    except ValueError:
        return None


def filter_day(raw: str | None, field: str) -> date | None:
    """A day filter of a list: None when empty, InvalidInput when given but not a usable day."""
    if not (raw or "").strip():
        return None
    day = parse_day(raw)
    if day is None:
        raise InvalidInput(f"{field}: give a date YYYY-MM-DD from {EARLIEST_DAY} to {LATEST_DAY}")
    return day


def whole_number(
    raw: str | None, field: str, *, minimum: int = 0, maximum: int = MAX_BIGINT
) -> int | None:
    """A decimal integer in [minimum, maximum], None when empty; the length is checked before
    converting, so 4,300 digits cost nothing (and never hit Python's int() digit limit)."""
    text = (raw or "").strip()
    if not text:
        return None
    if len(text) > MAX_DIGITS or not text.isascii() or not text.isdigit():
        raise InvalidInput(f"{field}: give a whole number from {minimum} to {maximum}")
    value = int(text)
    if not minimum <= value <= maximum:
        raise InvalidInput(f"{field}: give a whole number from {minimum} to {maximum}")
    return value


def finite_number(raw: str | None, field: str, *, minimum: float, maximum: float) -> float | None:
    """A decimal number in [minimum, maximum], None when empty; `nan`, `inf`, `1e400` refused."""
    text = (raw or "").strip()
    if not text:
        return None
    if len(text) > 32 or not _NUMBER.fullmatch(text):
        raise InvalidInput(f"{field}: give a number from {minimum:g} to {maximum:g}")
    value = float(text)
    if not math.isfinite(value) or not minimum <= value <= maximum:
        raise InvalidInput(f"{field}: give a number from {minimum:g} to {maximum:g}")
    return value
