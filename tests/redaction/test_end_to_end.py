"""End to end on the real Whisper base model: the espeak-ng fixture call via `callvault redact`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from typer.testing import CliRunner

from callvault.cli import app
from callvault.runtime import Runtime
from tests.redaction.conftest import CALL, CALL_EXPECTED, CALL_META

IDENTIFIERS = ("Lena", "Holmberg", "Maria", "sextiotvå", "fjorton", "sextiosju", "åttionio")
FRAME = 0.02


def frames(orig: np.ndarray, red: np.ndarray, rate: int) -> tuple[np.ndarray, np.ndarray]:
    """Per 20 ms frame: is there speech, and was it removed (quieter or decorrelated)."""
    hop = int(FRAME * rate)
    n = len(orig) // hop
    o = orig[: n * hop].reshape(n, hop)
    r = red[: n * hop].reshape(n, hop)
    o_rms = np.sqrt((o**2).mean(axis=1)) + 1e-12
    r_rms = np.sqrt((r**2).mean(axis=1)) + 1e-12
    speech = o_rms > 0.05 * o_rms.max()
    oc, rc = o - o.mean(axis=1, keepdims=True), r - r.mean(axis=1, keepdims=True)
    corr = (oc * rc).sum(axis=1) / (np.sqrt((oc**2).sum(axis=1) * (rc**2).sum(axis=1)) + 1e-12)
    return speech, (r_rms < 0.25 * o_rms) | (corr < 0.5)


def test_redact_masks_the_name_personnummer_and_phone_and_keeps_the_rest(
    runtime: Runtime, whisper_base: Path, tmp_path: Path
) -> None:
    runtime.settings.asr_model = whisper_base
    out, transcript = tmp_path / "out.wav", tmp_path / "out.json"
    result = CliRunner().invoke(
        app,
        ["redact", str(CALL), "--meta", str(CALL_META), "--out", str(out),
         "--transcript", str(transcript)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output

    orig, rate = sf.read(CALL, dtype="float64", always_2d=True)
    red, red_rate = sf.read(out, dtype="float64", always_2d=True)
    assert red.shape == orig.shape and red_rate == rate

    expected = json.loads(CALL_EXPECTED.read_text())["spans"]
    outside_total = outside_removed = 0
    for ch in range(orig.shape[1]):
        speech, removed = frames(orig[:, ch], red[:, ch], rate)
        t = (np.arange(len(speech)) + 0.5) * FRAME
        outside = np.ones(len(speech), dtype=bool)
        for span in (s for s in expected if s["channel"] == ch):
            inside = (t >= span["start"]) & (t <= span["end"]) & speech
            assert (inside & removed).sum() >= 0.9 * inside.sum(), span["type"]
            outside &= (t < span["start"] - 0.25) | (t > span["end"] + 0.25)
        outside_total += int((outside & speech).sum())
        outside_removed += int((outside & speech & removed).sum())
    # The rest stays intact (bounded collateral: the fail-closed rules may take a little more).
    assert outside_removed <= 0.25 * outside_total

    pseudo = json.loads(transcript.read_text("utf-8"))
    text = " ".join(c["text"] for c in pseudo["channels"]).lower()
    for identifier in IDENTIFIERS:
        assert identifier.lower() not in text
    assert pseudo["pseudonymised"] is True


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--meta", "missing.json"], "metadata"),
        (["--out", "x.mp3"], ".wav or .flac"),
    ],
)
def test_redact_refuses_bad_arguments_with_a_callvault_error(
    runtime: Runtime, tmp_path: Path, args: list[str], message: str
) -> None:
    base = {"--meta": str(CALL_META), "--out": str(tmp_path / "o.wav")}
    base.update(dict(zip(args[::2], args[1::2], strict=True)))
    argv = ["redact", str(CALL)] + [x for kv in base.items() for x in kv]
    result = CliRunner().invoke(app, argv)
    assert result.exit_code != 0
    assert message in str(result.exception)
    assert not (tmp_path / "o.wav").exists()


def test_corrupt_audio_writes_nothing(runtime: Runtime, tmp_path: Path) -> None:
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF....WAVEfmt garbage")
    result = CliRunner().invoke(
        app, ["redact", str(bad), "--meta", str(CALL_META), "--out", str(tmp_path / "o.wav")]
    )
    assert result.exit_code != 0
    assert "corrupt" in str(result.exception) or "audio" in str(result.exception)
    assert not (tmp_path / "o.wav").exists()
