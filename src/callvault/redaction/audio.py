"""Decoding and encoding call audio: pure functions from bytes to samples and back.

Long calls are never held whole: an `AudioSource` yields (frames, channels) float32 blocks, the
recogniser's 16 kHz input is resampled block by block, one channel at a time, and masking and
encoding work on the same blocks (see `callvault.redaction.masking`).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO, Protocol

import numpy as np
import numpy.typing as npt
import soundfile as sf

from callvault.errors import InvalidAudio

ASR_RATE = 16000
BLOCK_FRAMES = 65536  # per block: 512 KiB of stereo float32
Samples = npt.NDArray[np.float32]


class AudioSource(Protocol):
    """Decoded audio read in blocks of float32 samples shaped (frames, channels) in [-1, 1]."""

    @property
    def sample_rate(self) -> int: ...

    @property
    def channels(self) -> int: ...

    @property
    def frames(self) -> int: ...

    @property
    def duration_s(self) -> float: ...

    def blocks(self, frames: int = BLOCK_FRAMES) -> Iterator[Samples]: ...


@dataclass(frozen=True)
class Audio:
    """Decoded audio: float32 samples shaped (frames, channels) in [-1, 1]."""

    samples: Samples
    sample_rate: int

    @property
    def channels(self) -> int:
        return int(self.samples.shape[1])

    @property
    def frames(self) -> int:
        return int(self.samples.shape[0])

    @property
    def duration_s(self) -> float:
        return self.frames / self.sample_rate

    def blocks(self, frames: int = BLOCK_FRAMES) -> Iterator[Samples]:
        for start in range(0, self.frames, frames):
            yield self.samples[start : start + frames]


class StreamedAudio:
    """Audio decoded block by block from a seekable file (libsndfile: WAV, FLAC, Ogg, MP3), so
    memory does not grow with the call's length. `opener` gives a fresh file for every pass."""

    def __init__(self, opener: Callable[[], BinaryIO]) -> None:
        self._opener = opener
        with opener() as handle, _sound_file(handle) as sound:
            self.sample_rate = int(sound.samplerate)
            self.channels = int(sound.channels)
            declared = int(sound.frames)
        if self.sample_rate <= 0 or self.channels <= 0:
            raise InvalidAudio("the audio has no samples")
        # A stream that does not declare its length is counted once.
        self.frames = declared if declared > 0 else sum(len(b) for b in self.blocks())
        if self.frames <= 0:
            raise InvalidAudio("the audio has no samples")

    @property
    def duration_s(self) -> float:
        return self.frames / self.sample_rate

    def blocks(self, frames: int = BLOCK_FRAMES) -> Iterator[Samples]:
        """The samples in order; a stream shorter than declared is padded with silence, and
        one longer is cut, so every pass yields exactly `self.frames` frames."""
        left = getattr(self, "frames", None)
        with self._opener() as handle, _sound_file(handle) as sound:
            try:
                while len(block := sound.read(frames, dtype="float32", always_2d=True)):
                    if left is not None:
                        block = block[:left]
                        left -= len(block)
                    if not np.isfinite(block).all():
                        raise InvalidAudio("the audio holds invalid samples")
                    if len(block):
                        yield block
                    if left == 0:
                        return
            except (sf.LibsndfileError, RuntimeError, ValueError) as exc:
                raise InvalidAudio("the audio is corrupt or truncated") from exc
        while left:
            pad = min(left, frames)
            left -= pad
            yield np.zeros((pad, self.channels), dtype=np.float32)


def _sound_file(handle: BinaryIO) -> sf.SoundFile:
    try:
        return sf.SoundFile(handle)
    except (sf.LibsndfileError, RuntimeError, TypeError) as exc:
        raise InvalidAudio("the audio is corrupt or in an unsupported format") from exc


def decode_audio(data: bytes) -> Audio:
    """Decode WAV/FLAC/OGG (libsndfile) or anything PyAV reads; refuse corrupt or empty input."""
    if not data:
        raise InvalidAudio("the audio is empty")
    try:
        samples, rate = sf.read(io.BytesIO(data), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError):
        samples, rate = _decode_with_av(data)
    if samples.shape[0] == 0 or samples.shape[1] == 0:
        raise InvalidAudio("the audio has no samples")
    if not np.isfinite(samples).all():
        raise InvalidAudio("the audio holds invalid samples")
    return Audio(np.ascontiguousarray(samples, dtype=np.float32), int(rate))


def _decode_with_av(data: bytes) -> tuple[Samples, int]:
    import av

    try:
        opened: Any = av.open(io.BytesIO(data))
        with opened as container:
            stream = next((s for s in container.streams if s.type == "audio"), None)
            if stream is None:
                raise InvalidAudio("the file holds no audio stream")
            chunks: list[npt.NDArray[np.float32]] = []
            rate = int(stream.rate or 0)
            for frame in container.decode(stream):
                arr = frame.to_ndarray()
                if frame.format.is_planar:
                    arr = arr.T
                else:
                    arr = arr.reshape(-1, len(frame.layout.channels))
                if arr.dtype.kind == "i":
                    arr = arr.astype(np.float32) / float(np.iinfo(arr.dtype).max)
                chunks.append(arr.astype(np.float32))
    except InvalidAudio:
        raise
    except Exception as exc:  # PyAV raises many types; all mean "not readable audio"
        raise InvalidAudio("the audio is corrupt or in an unsupported format") from exc
    if not chunks or rate <= 0:
        raise InvalidAudio("the audio has no samples")
    return np.concatenate(chunks), rate


def channel_for_asr(audio: AudioSource, channel: int) -> Samples:
    """One channel as 16 kHz mono float32, which is what the recogniser takes.

    Read and resampled block by block: the result (4 bytes a sample at 16 kHz) is the only
    thing that grows with the call, whatever the source's rate.
    """
    resampler = BlockResampler(audio.frames, audio.sample_rate, ASR_RATE)
    out = np.empty(resampler.n, dtype=np.float32)
    filled = 0
    for block in audio.blocks():
        piece = resampler.push(block[:, channel])
        out[filled : filled + len(piece)] = piece
        filled += len(piece)
    piece = resampler.finish()
    out[filled : filled + len(piece)] = piece
    return out


def resample(x: Samples, rate_from: int, rate_to: int) -> Samples:
    """Band-limited enough for speech recognition; linear interpolation after a moving average."""
    resampler = BlockResampler(len(x), rate_from, rate_to)
    out = np.empty(resampler.n, dtype=np.float32)
    filled = 0
    for start in range(0, len(x), BLOCK_FRAMES):
        piece = resampler.push(x[start : start + BLOCK_FRAMES])
        out[filled : filled + len(piece)] = piece
        filled += len(piece)
    piece = resampler.finish()
    out[filled : filled + len(piece)] = piece
    return out


class BlockResampler:
    """`resample` fed block by block: a centred moving average of round(from/to) samples when
    going down (zero beyond the ends), then linear interpolation at `n` evenly spaced points
    from the first sample to the last. Holds only a block and a kernel's width of input, and
    works in float64 on one block at a time, so a long call is never copied whole."""

    def __init__(self, total: int, rate_from: int, rate_to: int) -> None:
        self.total = max(0, total)
        self.same = rate_from == rate_to
        self.n = self.total if self.same else int(round(self.total * rate_to / rate_from))
        self.width = max(1, int(round(rate_from / rate_to))) if rate_to < rate_from else 1
        self._left, self._right = self.width // 2, (self.width - 1) // 2
        self._step = (self.total - 1) / (self.n - 1) if self.n > 1 else 0.0
        self._buffer = np.zeros(0, dtype=np.float32)
        self._buffer_start = 0  # the input index of _buffer[0]
        self._received = 0
        self._next = 0  # the next output index

    def push(self, block: Samples) -> Samples:
        block = block[: max(0, self.total - self._received)]
        self._received += len(block)
        if self.same:
            self._next += len(block)
            return np.array(block, dtype=np.float32)
        self._buffer = np.concatenate([self._buffer, block.astype(np.float32, copy=False)])
        return self._emit(final=False)

    def finish(self) -> Samples:
        """The rest of the output (input that never came counts as silence)."""
        if self.same:
            missing = self.n - self._next
            self._next = self.n
            return np.zeros(missing, dtype=np.float32)
        return self._emit(final=True)

    def _emit(self, *, final: bool) -> Samples:
        last = self.n if final else self._ready()
        if last <= self._next:
            return np.zeros(0, dtype=np.float32)
        positions = np.arange(self._next, last, dtype=np.float64) * self._step
        if last == self.n and self.n > 1:
            positions[-1] = self.total - 1  # as numpy's linspace ends exactly on its stop
        low = np.minimum(np.floor(positions).astype(np.int64), self.total - 1)
        high = np.minimum(low + 1, self.total - 1)
        first, end = int(low[0]), int(high[-1]) + 1
        smoothed = self._smoothed(first, end)
        y0, y1 = smoothed[low - first], smoothed[high - first]
        out: Samples = (y0 + (positions - low) * (y1 - y0)).astype(np.float32)
        self._next = last
        keep = max(0, int(np.floor(last * self._step)) - self._left - 1)
        if keep > self._buffer_start:
            self._buffer = self._buffer[keep - self._buffer_start :]
            self._buffer_start = keep
        return out

    def _ready(self) -> int:
        """How many outputs the input received so far determines."""
        limit = self._received - 2 - self._right  # the highest usable low index
        if limit < 0 or self._step <= 0:
            return self._next
        last = min(self.n, int(np.ceil((limit + 1) / self._step)))
        while last > self._next and int(np.floor((last - 1) * self._step)) > limit:
            last -= 1
        return last

    def _smoothed(self, first: int, end: int) -> npt.NDArray[np.float64]:
        """The moving average at input indices [first, end)."""
        window = self._input(first - self._left, end + self._right)
        if self.width == 1:
            return window
        sums = np.concatenate([[0.0], np.cumsum(window)])
        averaged: npt.NDArray[np.float64] = (sums[self.width :] - sums[: -self.width]) / self.width
        return averaged

    def _input(self, start: int, stop: int) -> npt.NDArray[np.float64]:
        """Input samples [start, stop) as float64, zero outside the signal."""
        out = np.zeros(stop - start, dtype=np.float64)
        have_from = max(start, self._buffer_start)
        have_to = min(stop, self._buffer_start + len(self._buffer))
        if have_to > have_from:
            out[have_from - start : have_to - start] = self._buffer[
                have_from - self._buffer_start : have_to - self._buffer_start
            ]
        return out


def encode_audio(audio: Audio, fmt: str = "WAV", subtype: str | None = None) -> bytes:
    """Encode to WAV or FLAC bytes with the audio's own rate and channel layout."""
    buf = io.BytesIO()
    clipped = np.clip(audio.samples, -1.0, 1.0)
    sf.write(buf, clipped, audio.sample_rate, format=fmt, subtype=subtype or "PCM_16")
    return buf.getvalue()
