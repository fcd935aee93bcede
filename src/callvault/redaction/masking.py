"""Redaction operators: mask time spans in audio (bleep, silence) and words in a transcript.

Masking works on blocks of samples as they stream past, so a long call is masked and encoded
without ever being held whole; `mask_audio` is the same thing on audio already in memory.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import ClassVar, Protocol

import numpy as np

from callvault.redaction.audio import Audio, Samples

FADE_S = 0.005


class AudioOperator(Protocol):
    """Gives the samples that replace a span of one channel; knows nothing of how the span was
    found. `segment` returns the span's samples [i0, i1) (counted from the span's start), so a
    span that crosses blocks is replaced piece by piece with the same result."""

    name: ClassVar[str]

    def segment(self, rate: int, length: int, i0: int, i1: int) -> Samples: ...


class Bleep:
    """A 1 kHz tone at a steady, moderate level, with short fades so it does not click."""

    name: ClassVar[str] = "bleep"
    frequency: ClassVar[float] = 1000.0
    level: ClassVar[float] = 0.2

    def segment(self, rate: int, length: int, i0: int, i1: int) -> Samples:
        index = np.arange(i0, i1, dtype=np.float32)
        tone = (self.level * np.sin(2 * np.pi * self.frequency * (index / rate))).astype(np.float32)
        fade = min(int(FADE_S * rate), length // 2)
        if fade > 0:
            step = 1.0 / (fade - 1) if fade > 1 else 0.0
            rising = index < fade
            tone[rising] *= index[rising] * step
            falling = index >= length - fade
            tone[falling] *= (length - 1 - index[falling]) * step
        return tone

    def apply(self, channel: Samples, rate: int, start: int, end: int) -> None:
        channel[start:end] = self.segment(rate, end - start, 0, end - start)


class Silence:
    """Digital silence."""

    name: ClassVar[str] = "silence"

    def segment(self, rate: int, length: int, i0: int, i1: int) -> Samples:
        return np.zeros(max(0, i1 - i0), dtype=np.float32)

    def apply(self, channel: Samples, rate: int, start: int, end: int) -> None:
        channel[start:end] = 0.0


OPERATORS: dict[str, AudioOperator] = {"bleep": Bleep(), "silence": Silence()}


def mask_blocks(
    blocks: Iterable[Samples],
    rate: int,
    frames: int,
    channels: int,
    intervals: Sequence[tuple[int, float, float]],
    operator: str = "bleep",
) -> Iterator[Samples]:
    """The blocks with each (channel, start_s, end_s) masked; each block is a new array."""
    op = OPERATORS[operator]
    spans = sorted(
        (start, end, channel)
        for channel, start_s, end_s in intervals
        if channel < channels
        for start, end in [
            (max(0, int(round(start_s * rate))), min(frames, int(round(end_s * rate))))
        ]
        if end > start
    )
    waiting = 0  # spans[waiting:] have not started yet
    active: list[tuple[int, int, int]] = []
    offset = 0
    for block in blocks:
        out = np.array(block, dtype=np.float32)
        stop = offset + len(out)
        while waiting < len(spans) and spans[waiting][0] < stop:
            active.append(spans[waiting])
            waiting += 1
        for start, end, channel in active:
            i0, i1 = max(start, offset), min(end, stop)
            if i1 > i0:
                out[i0 - offset : i1 - offset, channel] = op.segment(
                    rate, end - start, i0 - start, i1 - start
                )
        active = [span for span in active if span[1] > stop]
        offset = stop
        yield out


def mask_audio(
    audio: Audio, intervals: Sequence[tuple[int, float, float]], operator: str = "bleep"
) -> Audio:
    """A copy of the audio with each (channel, start_s, end_s) masked; layout, rate, length kept."""
    out = np.empty_like(audio.samples)
    offset = 0
    for block in mask_blocks(
        audio.blocks(), audio.sample_rate, audio.frames, audio.channels, intervals, operator
    ):
        out[offset : offset + len(block)] = block
        offset += len(block)
    return Audio(out, audio.sample_rate)
