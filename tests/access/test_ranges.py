"""Tests for reading HTTP Range headers."""

from __future__ import annotations

import pytest

from callvault.access.ranges import ByteRange, RangeNotSatisfiable, parse_range


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("bytes=0-99", ByteRange(0, 100)),
        ("bytes=100-", ByteRange(100, 1000)),
        ("bytes=-500", ByteRange(500, 1000)),
        ("bytes=0-99,200-299", None),
        ("items=0-1", None),
    ],
)
def test_ranges_are_read(header: str | None, expected: ByteRange | None) -> None:
    assert parse_range(header, 1000) == expected


@pytest.mark.parametrize(
    "header",
    ["bytes=" + "9" * 4300 + "-", "bytes=0-" + "9" * 4300, "bytes=-" + "9" * 4300, "bytes=1000-"],
)
def test_ranges_beyond_any_file_are_not_satisfiable(header: str) -> None:
    with pytest.raises(RangeNotSatisfiable):
        parse_range(header, 1000)
