"""HTTP Range requests (RFC 9110 §14) for audio: one byte range, or the whole file."""

from __future__ import annotations

import re
from dataclasses import dataclass

from callvault.inputs import MAX_DIGITS

_RANGE = re.compile(r"^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$", re.IGNORECASE)


class RangeNotSatisfiable(Exception):
    """The range lies outside the file (answered with 416 and `Content-Range: bytes */size`)."""


@dataclass(frozen=True)
class ByteRange:
    start: int
    end: int  # exclusive

    @property
    def length(self) -> int:
        return self.end - self.start

    def content_range(self, size: int) -> str:
        return f"bytes {self.start}-{self.end - 1}/{size}"


def parse_range(header: str | None, size: int) -> ByteRange | None:
    """The single range asked for, None for the whole file (no header, or several ranges).

    `bytes=0-99`, `bytes=100-` and `bytes=-500` (the last 500) are understood; a range that
    starts beyond the end is not satisfiable.
    """
    if not header:
        return None
    if "," in header:
        return None  # several ranges: answer with the whole file, which RFC 9110 allows
    match = _RANGE.match(header)
    if match is None:
        return None  # not a byte range we understand: ignore it, as the RFC allows
    first, last = match.group(1), match.group(2)
    if not first and not last:
        return None
    if len(first) > MAX_DIGITS or len(last) > MAX_DIGITS:
        raise RangeNotSatisfiable  # beyond any file; and int() refuses 4,300 digits
    if not first:
        suffix = int(last)
        if suffix == 0 or size == 0:
            raise RangeNotSatisfiable
        return ByteRange(max(0, size - suffix), size)
    start = int(first)
    if start >= size:
        raise RangeNotSatisfiable
    end = size if not last else min(int(last) + 1, size)
    if end <= start:
        raise RangeNotSatisfiable
    return ByteRange(start, end)
