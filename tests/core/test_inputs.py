"""Tests for the shared reading of dates, instants and numbers from requests."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from callvault.errors import InvalidInput
from callvault.inputs import (
    Day,
    Instant,
    filter_day,
    finite_number,
    parse_day,
    whole_number,
)

DAY: TypeAdapter[Any] = TypeAdapter(Day)
INSTANT: TypeAdapter[Any] = TypeAdapter(Instant)


@pytest.mark.parametrize(
    "raw", ["9999-12-31", "0001-01-01", "1899-12-31", "3000-01-01", "0.5", "17", 0.5, 1700000000]
)
def test_days_out_of_range_or_given_as_numbers_are_refused(raw: object) -> None:
    with pytest.raises(ValidationError):
        DAY.validate_python(raw)


@pytest.mark.parametrize(
    "raw",
    ["9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+23:59", "0.5", "1e3", "-1", 12.0],
)
def test_instants_out_of_range_or_given_as_numbers_are_refused(raw: object) -> None:
    with pytest.raises(ValidationError):
        INSTANT.validate_python(raw)


def test_instants_come_back_in_utc() -> None:
    assert INSTANT.validate_python("2026-03-02T10:00:00+01:00") == datetime(
        2026, 3, 2, 9, tzinfo=UTC
    )
    assert INSTANT.validate_python("2026-03-02T10:00:00") == datetime(2026, 3, 2, 10, tzinfo=UTC)
    assert DAY.validate_python("2026-03-02") == date(2026, 3, 2)


@pytest.mark.parametrize(
    ("raw", "day"),
    [("2026-03-02", date(2026, 3, 2)), ("", None), ("x", None), ("9999-12-31", None)],
)
def test_parse_day_is_lenient_for_forms(raw: str, day: date | None) -> None:
    assert parse_day(raw) == day


@pytest.mark.parametrize("raw", ["9999-12-31", "0001-01-01", "yesterday", "2026-02-30"])
def test_filter_day_refuses_what_it_cannot_use(raw: str) -> None:
    with pytest.raises(InvalidInput):
        filter_day(raw, "until")
    assert filter_day("", "until") is None


@pytest.mark.parametrize(
    "raw", ["99999999999999999999999", "9" * 4300, "-1", "0", "1.5", "١٢", "9223372036854775808"]
)
def test_whole_numbers_beyond_the_database_are_refused(raw: str) -> None:
    with pytest.raises(InvalidInput):
        whole_number(raw, "before", minimum=1)


def test_whole_number_reads_what_fits() -> None:
    assert whole_number("9223372036854775807", "before") == 2**63 - 1
    assert whole_number(" 42 ", "before") == 42
    assert whole_number("", "before") is None


@pytest.mark.parametrize("raw", ["1e400", "nan", "NaN", "inf", "-inf", "0", "17", "2x", "9" * 40])
def test_finite_number_refuses_overflow_and_nan(raw: str) -> None:
    with pytest.raises(InvalidInput):
        finite_number(raw, "RecordingChannels", minimum=1, maximum=16)
    assert finite_number("2", "RecordingChannels", minimum=1, maximum=16) == 2.0
