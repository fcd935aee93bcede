"""Decoding is a pure function from bytes to samples; bad input is a callvault error."""

from __future__ import annotations

import io

import numpy as np
import pytest
import soundfile as sf

from callvault.errors import InvalidAudio
from callvault.redaction.audio import Audio, channel_for_asr, decode_audio, encode_audio


def stereo(rate: int = 8000, seconds: float = 1.0) -> Audio:
    t = np.arange(int(rate * seconds)) / rate
    data = np.stack([0.2 * np.sin(2 * np.pi * 300 * t), 0.2 * np.sin(2 * np.pi * 500 * t)], 1)
    return Audio(data.astype(np.float32), rate)


@pytest.mark.parametrize("fmt", ["WAV", "FLAC"])
def test_encode_then_decode_keeps_layout_rate_and_length(fmt: str) -> None:
    audio = stereo()
    back = decode_audio(encode_audio(audio, fmt))
    assert back.samples.shape == audio.samples.shape and back.sample_rate == 8000
    assert np.abs(back.samples - audio.samples).max() < 1e-3


def test_ogg_goes_through_the_same_function() -> None:
    buf = io.BytesIO()
    sf.write(buf, stereo(16000).samples, 16000, format="OGG", subtype="VORBIS")
    assert decode_audio(buf.getvalue()).channels == 2


@pytest.mark.parametrize("data", [b"", b"RIFF\x00\x00\x00\x00WAVEjunk", b"\x00" * 1000])
def test_corrupt_or_empty_audio_is_refused(data: bytes) -> None:
    with pytest.raises(InvalidAudio):
        decode_audio(data)


def test_channels_are_resampled_to_16k_for_recognition() -> None:
    mono = channel_for_asr(stereo(8000, 2.0), 1)
    assert mono.dtype == np.float32 and len(mono) == 32000
