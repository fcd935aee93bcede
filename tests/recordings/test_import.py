"""`callvault import MANIFEST.jsonl`: every ingest check per line, a report by line number (never
a caller's number), expired calls not imported, and a second run that imports nothing new."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
import structlog
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from callvault.cli import app
from callvault.recordings.importer import Journal, import_manifest, read_manifest
from callvault.recordings.models import Recording
from callvault.runtime import Runtime
from tests.recordings.synthetic import meta_doc, wav


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    yield
    structlog.reset_defaults()


def _manifest(tmp_path: Path, started: datetime) -> Path:
    (tmp_path / "calls").mkdir()
    (tmp_path / "calls" / "good.wav").write_bytes(wav(1.0, seed=1))
    (tmp_path / "calls" / "old.wav").write_bytes(wav(1.0, seed=2))
    lines = [
        {"audio": "calls/good.wav", "meta": meta_doc("prev-good", started)},
        {"audio": "calls/old.wav", "meta": meta_doc("prev-old", started - timedelta(days=100))},
    ]
    text = "\n".join(json.dumps(line) for line in lines) + '\n{"audio": "calls/x.wav", "meta": \n'
    manifest = tmp_path / "manifest.jsonl"
    manifest.write_text(text)
    return manifest


def _run(manifest: Path) -> tuple[int, dict[str, object], str]:
    result = CliRunner().invoke(app, ["import", str(manifest), "--json"])
    report = json.loads(result.stdout.strip().splitlines()[-1])
    return result.exit_code, report, result.output


def test_one_good_one_expired_one_broken_imports_one_and_names_the_others(
    ingest_runtime: Runtime, session: Session, tmp_path: Path, started: datetime
) -> None:
    manifest = _manifest(tmp_path, started)
    code, report, output = _run(manifest)
    assert code == 1  # a line was refused
    assert report["imported"] == 1 and report["already_there"] == 0
    assert report["expired"] == [
        {"line": 2, "code": "retention_expired", "message": report["expired"][0]["message"]}  # type: ignore[index]
    ]
    assert [(p["line"], p["code"]) for p in report["refused"]] == [(3, "invalid_input")]  # type: ignore[union-attr]
    assert "not valid JSON" in report["refused"][0]["message"]  # type: ignore[index]
    assert "4670" not in output and "Kalle" not in output
    assert session.scalar(sa.select(sa.func.count()).select_from(Recording)) == 1

    code, again, _ = _run(manifest)
    assert again["imported"] == 0 and again["already_there"] == 1
    assert len(again["expired"]) == 1 and len(again["refused"]) == 1  # type: ignore[arg-type]
    assert session.scalar(sa.select(sa.func.count()).select_from(Recording)) == 1


def test_the_plain_report_names_lines_and_reasons(
    ingest_runtime: Runtime, tmp_path: Path, started: datetime
) -> None:
    manifest = _manifest(tmp_path, started)
    result = CliRunner().invoke(app, ["import", str(manifest)])
    assert "line 2: expired, retention_expired" in result.output
    assert "line 3: refused, invalid_input: the line is not valid JSON" in result.output


def test_a_stopped_import_resumes_without_reading_what_is_done_again(
    ingest_runtime: Runtime, tmp_path: Path, started: datetime
) -> None:
    manifest = _manifest(tmp_path, started)
    first = import_manifest(ingest_runtime, manifest)
    assert first.imported == 1
    assert len(Journal(ingest_runtime, manifest).done) == 1
    # The audio of the imported line is gone: a resumed run must not need it.
    (tmp_path / "calls" / "good.wav").unlink()
    second = import_manifest(ingest_runtime, manifest)
    assert (second.imported, second.already_there) == (0, 1)


@pytest.mark.parametrize(
    ("line", "code"),
    [
        ('{"audio": "calls/good.wav"}', "invalid_input"),
        ('["calls/good.wav", {}]', "invalid_input"),
        ('{"audio": "calls/missing.wav", "meta": {}}', "invalid_input"),
        ('{"audio": 5, "meta": {}}', "invalid_input"),
    ],
)
def test_malformed_lines_are_refused_by_number(
    ingest_runtime: Runtime, tmp_path: Path, line: str, code: str
) -> None:
    manifest = tmp_path / "m.jsonl"
    manifest.write_text("\n" + line + "\n")
    report = import_manifest(ingest_runtime, manifest)
    assert [(p.line, p.code) for p in report.refused] == [(2, code)]
    assert [n.number for n in read_manifest(manifest)] == [2]


def test_consent_missing_is_refused_with_the_ingest_reason(
    ingest_runtime: Runtime, tmp_path: Path, started: datetime
) -> None:
    (tmp_path / "a.wav").write_bytes(wav(1.0))
    doc = meta_doc("prev-noconsent", started)
    doc["consent"]["digit"] = "2"
    manifest = tmp_path / "m.jsonl"
    manifest.write_text(json.dumps({"audio": "a.wav", "meta": doc}) + "\n")
    report = import_manifest(ingest_runtime, manifest)
    assert [(p.line, p.code) for p in report.refused] == [(1, "consent_missing")]
