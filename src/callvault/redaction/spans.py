"""Spans: what detectors return (text offsets) and what masking takes (channel times)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

# Entity types and the label each gets in the pseudonymised transcript.
LABELS: dict[str, str] = {
    "PERSON": "[NAMN]",
    "PERSONNUMMER": "[PERSONNUMMER]",
    "PHONE": "[TELEFON]",
    "EMAIL": "[E-POST]",
    "ADDRESS": "[ADRESS]",
    "NUMBER": "[NUMMER]",
    "ANSWER": "[UPPGIFT]",
    "UNHEARD": "[OHÖRBART]",
    "MARK": "[MARKERAT]",
}


@dataclass(frozen=True)
class TextSpan:
    """A detector's finding: character offsets in the text it was given."""

    start: int
    end: int
    entity_type: str
    score: float


@dataclass(frozen=True)
class TimeSpan:
    """An interval of one channel to mask, in seconds, with why."""

    channel: int
    start: float
    end: float
    entity_type: str
    score: float
    source: str

    def padded(self, pad_s: float, duration_s: float) -> TimeSpan:
        return TimeSpan(
            self.channel,
            max(0.0, self.start - pad_s),
            min(duration_s, self.end + pad_s),
            self.entity_type,
            self.score,
            self.source,
        )


def merge_intervals(
    spans: Iterable[TimeSpan], gap_s: float = 0.0
) -> list[tuple[int, float, float]]:
    """Union of the spans per channel: sorted (channel, start, end), touching ones joined."""
    merged: list[tuple[int, float, float]] = []
    for s in sorted(spans, key=lambda s: (s.channel, s.start)):
        if merged and merged[-1][0] == s.channel and s.start <= merged[-1][2] + gap_s:
            ch, start, end = merged[-1]
            merged[-1] = (ch, start, max(end, s.end))
        else:
            merged.append((s.channel, s.start, s.end))
    return merged
