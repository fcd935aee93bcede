"""The model directory: assembled once from the PyPI parts, checked, and refused when damaged."""

from __future__ import annotations

from pathlib import Path

import pytest

from callvault.config import Settings
from callvault.redaction.model import (
    CHECKED_STAMP,
    WHISPER_BASE_FILES,
    ModelUnavailable,
    check_model_dir,
    ensure_whisper_base,
    model_dir,
)


def test_the_assembled_model_matches_the_pinned_checksums(whisper_base: Path) -> None:
    check_model_dir(whisper_base, WHISPER_BASE_FILES)
    assert (whisper_base / CHECKED_STAMP).exists()
    assert not list(whisper_base.parent.glob(".*.tmp"))  # assembled atomically


def test_assembly_is_done_once(whisper_base: Path) -> None:
    before = (whisper_base / "model.bin").stat().st_mtime_ns
    assert ensure_whisper_base(whisper_base) == whisper_base
    assert (whisper_base / "model.bin").stat().st_mtime_ns == before


def _damaged(tmp_path: Path, truncate: bool) -> Path:
    target = tmp_path / "whisper-base"
    target.mkdir()
    for name in WHISPER_BASE_FILES:
        (target / name).write_bytes(b"x" * 10)
    stamp = "\n".join(
        f"{n} {20 if truncate and n == 'model.bin' else 10}" for n in WHISPER_BASE_FILES
    )
    (target / CHECKED_STAMP).write_text(stamp)
    return target


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: _damaged(p, truncate=True), "damaged"),
        (lambda p: (p / "whisper-base").mkdir() or p / "whisper-base", "never verified"),
    ],
)
def test_a_damaged_or_unverified_directory_is_refused(
    tmp_path: Path, make: object, message: str
) -> None:
    target = make(tmp_path)  # type: ignore[operator]
    with pytest.raises(ModelUnavailable, match=message):
        ensure_whisper_base(target)


@pytest.mark.parametrize(
    ("files", "message"),
    [([], "incomplete"), (["model.bin", "config.json", "tokenizer.json"], "vocabulary")],
)
def test_a_configured_model_must_be_complete(
    tmp_path: Path, files: list[str], message: str
) -> None:
    for name in files:
        (tmp_path / name).write_bytes(b"data")
    settings = Settings(data_dir=tmp_path / "var", asr_model=tmp_path)
    with pytest.raises(ModelUnavailable, match=message):
        model_dir(settings)


def test_checksums_catch_a_corrupt_weight_file(tmp_path: Path) -> None:
    for name in WHISPER_BASE_FILES:
        (tmp_path / name).write_bytes(b"not the weights")
    with pytest.raises(ModelUnavailable, match="checksum"):
        check_model_dir(tmp_path, WHISPER_BASE_FILES)
