"""`callvault dsar export --number … --out bundle.zip`."""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog
from typer.testing import CliRunner

from callvault.cli import app
from callvault.runtime import Runtime
from tests.retention.factory import RecordingFactory


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    yield
    structlog.reset_defaults()


def test_export_writes_the_callers_bundle(
    vault_runtime: Runtime, make_recording: RecordingFactory, tmp_path: Path
) -> None:
    recording = make_recording(number="+46701234567")
    out = tmp_path / "bundle.zip"
    result = CliRunner().invoke(
        app, ["dsar", "export", "--number", "070-123 45 67", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "Answer due by" in result.output
    assert f"recordings/{recording.id}/audio.flac" in zipfile.ZipFile(out).namelist()
    assert out.stat().st_mode & 0o777 == 0o600


def test_export_needs_a_subject(vault_runtime: Runtime, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["dsar", "export", "--out", str(tmp_path / "x.zip")])
    assert result.exit_code != 0
