"""Redaction operators: mask time spans in audio (bleep, silence) and words in a transcript."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar, Protocol

import numpy as np

from callvault.redaction.audio import Audio, Samples

FADE_S = 0.005


class AudioOperator(Protocol):
    """Replaces samples[start:end] of one channel; knows nothing of how the span was found."""

    name: ClassVar[str]

    def apply(self, channel: Samples, rate: int, start: int, end: int) -> None: ...


class Bleep:
    """A 1 kHz tone at a steady, moderate level, with short fades so it does not click."""

    name: ClassVar[str] = "bleep"
    frequency: ClassVar[float] = 1000.0
    level: ClassVar[float] = 0.2

    def apply(self, channel: Samples, rate: int, start: int, end: int) -> None:
        n = end - start
        if n <= 0:
            return
        t = np.arange(n, dtype=np.float32) / rate
        tone = (self.level * np.sin(2 * np.pi * self.frequency * t)).astype(np.float32)
        fade = min(int(FADE_S * rate), n // 2)
        if fade > 0:
            ramp = np.linspace(0.0, 1.0, fade, dtype=np.float32)
            tone[:fade] *= ramp
            tone[-fade:] *= ramp[::-1]
        channel[start:end] = tone


class Silence:
    """Digital silence."""

    name: ClassVar[str] = "silence"

    def apply(self, channel: Samples, rate: int, start: int, end: int) -> None:
        channel[start:end] = 0.0


OPERATORS: dict[str, AudioOperator] = {"bleep": Bleep(), "silence": Silence()}


def mask_audio(
    audio: Audio, intervals: Sequence[tuple[int, float, float]], operator: str = "bleep"
) -> Audio:
    """A copy of the audio with each (channel, start_s, end_s) masked; layout, rate, length kept."""
    op = OPERATORS[operator]
    out = audio.samples.copy()
    for channel, start_s, end_s in intervals:
        if channel >= audio.channels:
            continue
        start = max(0, int(round(start_s * audio.sample_rate)))
        end = min(audio.frames, int(round(end_s * audio.sample_rate)))
        column = np.ascontiguousarray(out[:, channel])
        op.apply(column, audio.sample_rate, start, end)
        out[:, channel] = column
    return Audio(out, audio.sample_rate)
