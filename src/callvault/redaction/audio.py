"""Decoding and encoding call audio: pure functions from bytes to samples and back."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import soundfile as sf

from callvault.errors import InvalidAudio

ASR_RATE = 16000
Samples = npt.NDArray[np.float32]


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


def channel_for_asr(audio: Audio, channel: int) -> Samples:
    """One channel as 16 kHz mono float32, which is what the recogniser takes."""
    mono = audio.samples[:, channel]
    return resample(mono, audio.sample_rate, ASR_RATE)


def resample(x: Samples, rate_from: int, rate_to: int) -> Samples:
    """Band-limited enough for speech recognition; linear interpolation after a moving average."""
    if rate_from == rate_to:
        return np.ascontiguousarray(x, dtype=np.float32)
    n = int(round(len(x) * rate_to / rate_from))
    if rate_to < rate_from:
        width = max(1, int(round(rate_from / rate_to)))
        kernel = np.ones(width, dtype=np.float32) / width
        x = np.convolve(x, kernel, mode="same").astype(np.float32)
    positions = np.linspace(0, len(x) - 1, n)
    return np.interp(positions, np.arange(len(x)), x).astype(np.float32)


def encode_audio(audio: Audio, fmt: str = "WAV", subtype: str | None = None) -> bytes:
    """Encode to WAV or FLAC bytes with the audio's own rate and channel layout."""
    buf = io.BytesIO()
    clipped = np.clip(audio.samples, -1.0, 1.0)
    sf.write(buf, clipped, audio.sample_rate, format=fmt, subtype=subtype or "PCM_16")
    return buf.getvalue()
