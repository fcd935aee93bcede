"""The check from outside (issue 14), with the commands a new user runs and a fixed clock:

ingest A, B (89 days 23 hours old) and C; `backup create`; withdraw A; retention a day later
deletes B; `backup restore`. Then A and B have no audio, C has; `audit verify` and `fsck` pass.
100 days on, retention deletes C and destroys its epoch's KEK; restoring the first backup
again, even `--without-journal`, gives back no readable audio, and says so.
"""

from __future__ import annotations

import json
import secrets
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
import structlog
from typer.testing import CliRunner, Result

from callvault.audit.models import AuditEntry
from callvault.cli import app
from callvault.clock import FixedClock
from callvault.config import Settings
from callvault.db import make_engine, make_sessionmaker
from callvault.runtime import Runtime, set_runtime
from tests.recordings.synthetic import meta_doc, wav
from tests.schema import own_database

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday: B's epoch (its deletion week) is W10
NUMBERS = {"A": "+46701110001", "B": "+46702220002", "C": "+46703330003"}
STARTED = {
    "A": T0 - timedelta(hours=1),
    "B": T0 - timedelta(days=89, hours=23),
    "C": T0 - timedelta(hours=2),
}


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    yield
    structlog.reset_defaults()


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[Runtime, FixedClock]]:
    clock = FixedClock(T0 - timedelta(days=120))  # callvault was set up before the calls
    with own_database(tmp_path) as url:
        settings = Settings(
            env="test",
            data_dir=tmp_path / "var",
            database_url=url,
            secret_key=secrets.token_urlsafe(48),
        )
        engine = make_engine(url)
        runtime = Runtime(settings, engine, make_sessionmaker(engine), clock)
        set_runtime(runtime)
        try:
            yield runtime, clock
        finally:
            set_runtime(None)
            engine.dispose()


def cli(*args: str) -> Result:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, (args, result.output, result.exception)
    return result


def _ingest(tmp_path: Path, name: str) -> str:
    audio = tmp_path / f"{name}.wav"
    audio.write_bytes(wav(1.0, seed=ord(name)))
    meta = tmp_path / f"{name}.meta.json"
    doc = meta_doc(f"call-{name}", STARTED[name], **{"from": NUMBERS[name]})
    doc["customer"] = {"phone": NUMBERS[name]}
    meta.write_text(json.dumps(doc))
    return cli("ingest", str(audio), "--meta", str(meta)).stdout.strip().splitlines()[-1]


def _audio_in_export(tmp_path: Path, name: str) -> list[str]:
    out = tmp_path / f"dsar-{name}-{secrets.token_hex(3)}.zip"
    cli("dsar", "export", "--number", NUMBERS[name], "--out", str(out))
    return [n for n in zipfile.ZipFile(out).namelist() if n.endswith("audio.flac")]


def _consistent() -> None:
    cli("audit", "verify")
    cli("fsck", "--grace-minutes", "0")


def test_a_restore_never_brings_an_erased_call_back(
    world: tuple[Runtime, FixedClock], tmp_path: Path
) -> None:
    runtime, clock = world
    cli("init")
    clock.set(T0)
    ids = {name: _ingest(tmp_path, name) for name in "ABC"}
    backup = tmp_path / "backup-1"
    cli("backup", "create", str(backup))
    cli("backup", "verify", str(backup))
    backup_head = json.loads((backup / "MANIFEST.json").read_text())["audit_head"]

    cli("withdraw", "--number", NUMBERS["A"])
    clock.advance(days=1)
    cli("retention", "run")
    restored = cli("backup", "restore", str(backup), "--yes").stdout
    assert "replayed" in restored

    assert _audio_in_export(tmp_path, "A") == []
    assert _audio_in_export(tmp_path, "B") == []
    assert _audio_in_export(tmp_path, "C") == [f"recordings/{ids['C']}/audio.flac"]
    _consistent()
    with runtime.sessions() as session:
        entry = session.scalars(
            sa.select(AuditEntry).where(AuditEntry.action == "backup.restore")
        ).one()
        assert entry.seq == backup_head["seq"] + 1
        assert entry.prev_hash == backup_head["hash"]
        assert entry.details["backup_audit_head_hash"] == backup_head["hash"]

    clock.advance(days=100)
    cli("retention", "run")
    epochs = json.loads(cli("keys", "epochs", "--json").stdout.strip().splitlines()[-1])
    assert epochs and all(e["kek"] == "destroyed" for e in epochs), epochs

    again = cli("backup", "restore", str(backup), "--yes", "--without-journal").stdout
    assert "WITHOUT the erasure journal" in again
    assert "3 recordings in this backup are beyond use" in again
    for name in "ABC":
        assert _audio_in_export(tmp_path, name) == []
    _consistent()


def test_restore_stops_on_a_missing_journal_unless_told(
    world: tuple[Runtime, FixedClock], tmp_path: Path
) -> None:
    runtime, clock = world
    cli("init")
    clock.set(T0)
    _ingest(tmp_path, "C")
    backup = tmp_path / "backup-1"
    cli("backup", "create", str(backup))
    runtime.settings.resolved_erasure_journal_path.unlink()
    refused = CliRunner().invoke(app, ["backup", "restore", str(backup), "--yes"])
    assert refused.exit_code != 0
    assert "erasure journal is missing" in str(refused.exception)
    assert not (runtime.settings.data_dir / "RESTORE-IN-PROGRESS").exists()
    cli("backup", "restore", str(backup), "--yes", "--without-journal")
    with runtime.sessions() as session:
        entry = session.scalars(
            sa.select(AuditEntry).where(AuditEntry.action == "backup.restore")
        ).one()
        assert entry.details["without_journal"] is True
    _consistent()


def test_without_the_journal_a_withdrawn_call_would_come_back(
    world: tuple[Runtime, FixedClock], tmp_path: Path
) -> None:
    """The control: what the journal replay prevents (and why skipping it is audited)."""
    runtime, clock = world
    cli("init")
    clock.set(T0)
    ids = {name: _ingest(tmp_path, name) for name in "A"}
    backup = tmp_path / "backup-1"
    cli("backup", "create", str(backup))
    cli("withdraw", "--number", NUMBERS["A"])
    assert _audio_in_export(tmp_path, "A") == []
    cli("backup", "restore", str(backup), "--yes", "--without-journal")
    assert _audio_in_export(tmp_path, "A") == [f"recordings/{ids['A']}/audio.flac"]
