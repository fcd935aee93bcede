"""Decoding is a pure function from bytes to samples; bad input is a callvault error."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from callvault.errors import InvalidAudio
from callvault.redaction.audio import (
    ASR_RATE,
    Audio,
    BlockResampler,
    StreamedAudio,
    channel_for_asr,
    decode_audio,
    encode_audio,
    resample,
)


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


def whole_call_resample(x: np.ndarray, rate_from: int, rate_to: int) -> np.ndarray:
    """The definition the block resampler keeps: a centred moving average, then linear
    interpolation at evenly spaced points (what `resample` did on the whole call at once)."""
    n = int(round(len(x) * rate_to / rate_from))
    if rate_to < rate_from:
        width = max(1, int(round(rate_from / rate_to)))
        x = np.convolve(x, np.ones(width) / width, mode="same")
    return np.interp(np.linspace(0, len(x) - 1, n), np.arange(len(x)), x)


@pytest.mark.parametrize("rate", [8000, 11025, 16000, 22050, 44100, 48000, 655350])
@pytest.mark.parametrize("block", [1, 777, 65536])
def test_resampling_block_by_block_equals_resampling_the_whole_call(rate: int, block: int) -> None:
    x = np.random.default_rng(rate).standard_normal(rate // 2 + 13).astype(np.float32) * 0.3
    if block == 1:
        x = x[:3000]  # one sample a block: short, or the test takes long
    resampler = BlockResampler(len(x), rate, ASR_RATE)
    pieces = [resampler.push(x[i : i + block]) for i in range(0, len(x), block)]
    got = np.concatenate([*pieces, resampler.finish()])
    expected = whole_call_resample(x, rate, ASR_RATE)
    assert got.dtype == np.float32 and got.shape == expected.shape
    assert np.abs(got - expected).max() < 1e-5
    assert np.abs(resample(x, rate, ASR_RATE) - expected).max() < 1e-5


def flac_file(tmp_path: Path, audio: Audio) -> Path:
    path = tmp_path / "call.flac"
    path.write_bytes(encode_audio(audio, "FLAC"))
    return path


def test_streamed_audio_gives_the_same_samples_and_recogniser_input_as_decoding_whole(
    tmp_path: Path,
) -> None:
    path = flac_file(tmp_path, stereo(48000, 3.3))
    whole = decode_audio(path.read_bytes())
    streamed = StreamedAudio(lambda: path.open("rb"))
    assert (streamed.frames, streamed.channels, streamed.sample_rate) == (whole.frames, 2, 48000)
    blocks = list(streamed.blocks(10_000))
    assert max(len(b) for b in blocks) == 10_000
    assert np.array_equal(np.concatenate(blocks), whole.samples)
    for channel in (0, 1):
        assert np.array_equal(channel_for_asr(streamed, channel), channel_for_asr(whole, channel))


def test_streamed_audio_refuses_what_is_not_audio(tmp_path: Path) -> None:
    path = tmp_path / "not-audio.flac"
    path.write_bytes(b"fLaC but not really" * 10)
    with pytest.raises(InvalidAudio):
        StreamedAudio(lambda: path.open("rb"))
