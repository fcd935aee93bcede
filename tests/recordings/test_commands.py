"""`callvault ingest AUDIO --meta META.json [--json]` prints the new recording's id."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
import structlog
from typer.testing import CliRunner

from callvault.cli import app
from callvault.errors import ConsentMissing
from callvault.runtime import Runtime
from tests.recordings.synthetic import meta_doc, wav


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """The CLI points logging at CliRunner's stderr, which is closed after each invoke."""
    yield
    structlog.reset_defaults()


def _files(tmp_path: Path, started: datetime, **overrides: object) -> tuple[str, str]:
    audio = tmp_path / "call.wav"
    audio.write_bytes(wav(1.0))
    meta = tmp_path / "call.meta.json"
    meta.write_text(json.dumps(meta_doc("cli-1", started, **overrides)))
    return str(audio), str(meta)


@pytest.mark.parametrize("as_json", [False, True], ids=["id", "json"])
def test_ingest_prints_the_id_or_a_json_object(
    ingest_runtime: Runtime, tmp_path: Path, started: datetime, as_json: bool
) -> None:
    audio, meta = _files(tmp_path, started)
    result = CliRunner().invoke(
        app, ["ingest", audio, "--meta", meta] + (["--json"] if as_json else [])
    )
    assert result.exit_code == 0, result.output
    line = result.stdout.strip().splitlines()[-1]
    if as_json:
        doc = json.loads(line)
        assert doc["state"] == "ingested" and doc["created"] is True
        uuid.UUID(doc["id"])
    else:
        uuid.UUID(line)


def test_ingest_without_consent_fails(
    ingest_runtime: Runtime, tmp_path: Path, started: datetime
) -> None:
    audio, meta = _files(tmp_path, started, consent=None)
    result = CliRunner().invoke(app, ["ingest", audio, "--meta", meta])
    assert result.exit_code != 0
    assert isinstance(result.exception, ConsentMissing)


@pytest.mark.parametrize(
    ("digit", "missing", "code"),
    [
        (None, None, "consent_missing"),
        ("2", None, "consent_missing"),
        ("1", "audio", "invalid_input"),
        ("1", "meta", "invalid_input"),
    ],
    ids=["no-consent", "pressed-2", "no-audio-file", "no-meta-file"],
)
def test_ingest_json_prints_errors_as_a_json_document(
    ingest_runtime: Runtime,
    tmp_path: Path,
    started: datetime,
    digit: str | None,
    missing: str | None,
    code: str,
) -> None:
    consent = digit and {"digit": digit, "prompt_version": "v1", "at": started.isoformat()}
    audio, meta = _files(tmp_path, started, consent=consent)
    if missing:
        Path(audio if missing == "audio" else meta).unlink()
    result = CliRunner().invoke(app, ["ingest", audio, "--meta", meta, "--json"])
    assert result.exit_code == 2, result.output
    doc = json.loads(result.stdout.strip().splitlines()[-1])
    assert doc == {"error": code, "message": doc["message"]}
    assert doc["message"] and "+4670" not in doc["message"]


@pytest.mark.parametrize(
    "command", [["ingest", "--help"], ["fsck", "--help"], ["keys", "rotate", "--help"]]
)
def test_help_works(command: list[str]) -> None:
    assert CliRunner().invoke(app, command).exit_code == 0
