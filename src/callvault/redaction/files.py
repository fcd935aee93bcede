"""Redacting files on disk: what `callvault redact` and the benchmark run (one code path)."""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from callvault.config import Settings
from callvault.errors import InvalidInput
from callvault.redaction.asr import Recogniser, shared_recogniser
from callvault.redaction.audio import decode_audio, encode_audio
from callvault.redaction.pipeline import (
    CallMetadata,
    Progress,
    RedactionOptions,
    RedactionResult,
    redact_call,
)

FORMATS = {".wav": "WAV", ".flac": "FLAC"}


def options_from(settings: Settings, organisation: tuple[str, ...] = ()) -> RedactionOptions:
    """Options from the settings; `organisation`: the names the organisation goes by (its
    recorded identity), else the settings' (callvault.policy.identity)."""
    if not organisation:
        from callvault.policy.identity import from_settings

        identity = from_settings(settings)
        organisation = (identity.legal_name, identity.short_name)
    return RedactionOptions(mask=settings.redaction_mask, organisation=organisation)


def read_metadata(path: Path) -> CallMetadata:
    try:
        data: Any = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise InvalidInput("the metadata file cannot be read as JSON") from exc
    if not isinstance(data, Mapping):
        raise InvalidInput("the metadata file must hold a JSON object")
    return CallMetadata.from_mapping(data)


def redact_file(
    source: Path,
    meta_path: Path,
    out: Path,
    *,
    settings: Settings,
    transcript: Path | None = None,
    recogniser: Recogniser | None = None,
    progress: Progress | None = None,
) -> RedactionResult:
    """Redact `source` into `out` (WAV or FLAC by suffix); nothing is written if any step fails."""
    fmt = FORMATS.get(out.suffix.lower())
    if fmt is None:
        raise InvalidInput("the output must end in .wav or .flac")
    meta = read_metadata(meta_path)
    try:
        data = source.read_bytes()
    except OSError as exc:
        raise InvalidInput("the audio file cannot be read") from exc
    audio = decode_audio(data)
    result = redact_call(
        audio,
        meta,
        recogniser or shared_recogniser(settings),
        options=options_from(settings),
        progress=progress,
    )
    _write_atomic(out, encode_audio(result.audio, fmt))
    if transcript is not None:
        body = json.dumps(result.pseudonymised, ensure_ascii=False, indent=1)
        _write_atomic(transcript, body.encode("utf-8"))
    return result


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
