"""Tests for merging the byte ranges of a listen."""

from __future__ import annotations

import pytest

from callvault.access.plays import MAX_RANGES, merged


@pytest.mark.parametrize(
    ("ranges", "added", "expected"),
    [
        ([], (0, 100), [[0, 100]]),
        ([[0, 100]], (100, 200), [[0, 200]]),  # touching ranges join
        ([[0, 100]], (50, 80), [[0, 100]]),
        ([[0, 100], [300, 400]], (90, 310), [[0, 400]]),
        ([[300, 400]], (0, 10), [[0, 10], [300, 400]]),
    ],
)
def test_ranges_are_merged(
    ranges: list[list[int]], added: tuple[int, int], expected: list[list[int]]
) -> None:
    assert merged(ranges, *added) == expected


def test_the_number_of_ranges_is_bounded() -> None:
    ranges: list[list[int]] = []
    for n in range(MAX_RANGES + 50):
        ranges = merged(ranges, n * 10, n * 10 + 5)
    assert len(ranges) == MAX_RANGES and ranges[-1][1] == (MAX_RANGES + 49) * 10 + 5
