"""The check from outside (issue 14), with the commands a new user runs and a fixed clock:

ingest A, B (89 days 23 hours old) and C; `backup create`; withdraw A; retention a day later
deletes B; `backup restore`. Then A and B have no audio, C has; `audit verify` and `fsck` pass.
100 days on, retention deletes C and destroys its epoch's KEK; restoring the first backup
again, even `--without-journal`, gives back no readable audio, and says so.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from callvault.audit.models import AuditEntry
from callvault.cli import app
from callvault.clock import FixedClock
from callvault.db import make_engine
from callvault.runtime import Runtime
from tests.backup.calls import NUMBERS, T0, cli
from tests.backup.calls import ingest as _ingest
from tests.schema import own_database


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

    _nothing_in_the_backup_opens(runtime, backup)
    again = cli("backup", "restore", str(backup), "--yes", "--without-journal").stdout
    assert "WITHOUT the erasure journal" in again
    assert "3 recordings in this backup are beyond use" in again
    for name in "ABC":
        assert _audio_in_export(tmp_path, name) == []
    _consistent()


@contextmanager
def _backup_copy(backup: Path) -> Iterator[sa.Engine]:
    """The backup's database as it is in the backup (a scratch database for a pg_dump)."""
    from callvault.backup.snapshot import libpq_url

    if (backup / "database.sqlite3").exists():
        engine = sa.create_engine(f"sqlite:///{backup / 'database.sqlite3'}")
        yield engine
        engine.dispose()
        return
    with own_database(backup.parent, postgres=True) as url:
        subprocess.run(  # noqa: S603
            ["pg_restore", "--no-owner", "-d", libpq_url(url), str(backup / "database.pgdump")],  # noqa: S607
            check=True,
        )
        engine = make_engine(url)
        yield engine
        engine.dispose()


def _nothing_in_the_backup_opens(runtime: Runtime, backup: Path) -> None:
    """With every epoch destroyed, no key, caller number or consent in the old backup opens."""
    from callvault.errors import KeyringError
    from callvault.vault.fields import unseal
    from callvault.vault.keyring import WrappedKey

    with _backup_copy(backup) as copy, copy.connect() as conn:
        keys = conn.exec_driver_sql("SELECT kek_id, wrapped_key FROM vault_artifacts").all()
        numbers = [
            (bytes(value), context)
            for table, context in (
                ("recordings", "recording.caller"),
                ("consent_evidence", "consent.caller"),
            )
            for (value,) in conn.exec_driver_sql(
                f"SELECT caller_number_enc FROM {table}"  # noqa: S608 (fixed table names)
            )
        ]
    assert len(keys) == 6 and len(numbers) == 6  # A, B and C: audio, metadata; two numbers
    for kek_id, wrapped in keys:
        assert not runtime.keyring.has_kek(kek_id)
        with pytest.raises(KeyringError):
            runtime.keyring.unwrap(WrappedKey(kek_id, wrapped), b"any")
    for value, context in numbers:
        with pytest.raises(KeyringError):
            unseal(runtime.keyring, value, context)


def _remove(journal: Path, _older: bytes) -> None:
    journal.unlink()


def _alter(journal: Path, _older: bytes) -> None:
    journal.write_bytes(
        journal.read_bytes().replace(
            b'"kind":"recordings_erased"', b'"kind":"consent_evidence_erased"'
        )
    )


def _put_back_older(journal: Path, older: bytes) -> None:
    journal.write_bytes(older)


@pytest.mark.parametrize(
    ("damage", "says"),
    [
        (_remove, "erasure journal is missing"),
        (_alter, "erasure journal's line 2 has an invalid signature"),
        (_put_back_older, "ends before this backup"),
    ],
    ids=["missing", "altered", "older-copy"],
)
def test_restore_stops_on_a_missing_or_broken_journal_unless_told(
    world: tuple[Runtime, FixedClock],
    tmp_path: Path,
    damage,
    says: str,  # type: ignore[no-untyped-def]
) -> None:
    runtime, clock = world
    cli("init")
    clock.set(T0)
    _ingest(tmp_path, "A")
    _ingest(tmp_path, "C")
    journal = runtime.settings.resolved_erasure_journal_path
    older = journal.read_bytes()
    cli("withdraw", "--number", NUMBERS["A"])
    backup = tmp_path / "backup-1"
    cli("backup", "create", str(backup))
    damage(journal, older)
    refused = CliRunner().invoke(app, ["backup", "restore", str(backup), "--yes"])
    assert refused.exit_code != 0
    assert says in str(refused.exception) and "--without-journal" in str(refused.exception)
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


def test_restore_without_yes_touches_nothing(
    world: tuple[Runtime, FixedClock], tmp_path: Path
) -> None:
    runtime, clock = world
    cli("init")
    clock.set(T0)
    backup = tmp_path / "backup-1"
    cli("backup", "create", str(backup))
    ids = _ingest(tmp_path, "C")
    refused = CliRunner().invoke(app, ["backup", "restore", str(backup)])
    assert refused.exit_code == 2 and "--yes" in refused.output
    assert _audio_in_export(tmp_path, "C") == [f"recordings/{ids}/audio.flac"]
