"""The erasure journal: signed, append-only, outside the database, ids and times only."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from callvault.audit.signing import load_verifier
from callvault.backup.journal import (
    JournalBroken,
    ensure_journal,
    journal_erasure,
    journal_head,
    read_journal,
)
from callvault.runtime import Runtime
from callvault.withdrawal.service import withdraw
from tests.retention.factory import RecordingFactory


def _read(runtime: Runtime):  # type: ignore[no-untyped-def]
    path = runtime.settings.resolved_erasure_journal_path
    return read_journal(path, load_verifier(runtime.settings.resolved_audit_signing_key))


def test_the_journal_sits_beside_the_key_file_by_default(vault_runtime: Runtime) -> None:
    keyring_dir = vault_runtime.settings.data_dir / "keys"
    assert vault_runtime.settings.resolved_erasure_journal_path.parent == keyring_dir


def test_entries_chain_and_verify(vault_runtime: Runtime) -> None:
    assert ensure_journal(vault_runtime) is True
    assert ensure_journal(vault_runtime) is False
    seq = journal_erasure(vault_runtime, "recordings_erased", {"recordings": ["r-1", "r-2"]})
    assert seq == 2
    report = _read(vault_runtime)
    assert [e.kind for e in report.entries] == ["journal_created", "recordings_erased"]
    assert report.entries[1].ids == {"recordings": ["r-1", "r-2"]}
    assert report.entries[1].prev == report.entries[0].hash
    head = journal_head(vault_runtime)
    assert (head.seq, head.hash) == (2, report.entries[1].hash)
    path = vault_runtime.settings.resolved_erasure_journal_path
    assert path.stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda lines: lines[:1] + lines[2:], id="entry-removed"),
        pytest.param(
            lambda lines: [lines[0], lines[1].replace(b"r-1", b"r-9"), *lines[2:]], id="altered"
        ),
        pytest.param(lambda lines: [lines[1], lines[0], *lines[2:]], id="reordered"),
        pytest.param(lambda lines: [b"{not json", *lines[1:]], id="garbage"),
    ],
)
def test_a_damaged_journal_is_refused(vault_runtime: Runtime, damage) -> None:  # type: ignore[no-untyped-def]
    journal_erasure(vault_runtime, "recordings_erased", {"recordings": ["r-1"]})
    journal_erasure(vault_runtime, "recordings_erased", {"recordings": ["r-2"]})
    path = vault_runtime.settings.resolved_erasure_journal_path
    lines = path.read_bytes().rstrip(b"\n").split(b"\n")
    path.write_bytes(b"\n".join(damage(lines)) + b"\n")
    with pytest.raises(JournalBroken):
        _read(vault_runtime)


def test_a_missing_journal_is_refused(vault_runtime: Runtime) -> None:
    ensure_journal(vault_runtime)
    vault_runtime.settings.resolved_erasure_journal_path.unlink()
    with pytest.raises(JournalBroken, match="missing"):
        _read(vault_runtime)


def test_a_torn_last_line_is_cut_off_by_the_next_append(vault_runtime: Runtime) -> None:
    journal_erasure(vault_runtime, "recordings_erased", {"recordings": ["r-1"]})
    path = vault_runtime.settings.resolved_erasure_journal_path
    with path.open("ab") as handle:
        handle.write(b'{"seq": 3, "kind": "recor')
    assert _read(vault_runtime).torn_tail is True
    journal_erasure(vault_runtime, "recordings_erased", {"recordings": ["r-2"]})
    report = _read(vault_runtime)
    assert not report.torn_tail and [e.seq for e in report.entries] == [1, 2, 3]


def test_withdrawal_and_retention_write_ids_only(
    session: Session, vault_runtime: Runtime, make_recording: RecordingFactory
) -> None:
    number = "+46701234567"
    recording = make_recording(number=number)
    withdraw(session, vault_runtime, number=number, actor="system", channel="cli")
    session.commit()
    report = _read(vault_runtime)
    kinds = [e.kind for e in report.entries]
    assert kinds == ["journal_created", "recordings_erased", "withdrawal_registered"]
    erased = report.entries[1].ids
    assert erased["recordings"] == [str(recording.id)]
    assert len(erased["withdrawals"]) == 1 and len(erased["consent_evidence"]) == 1
    text = vault_runtime.settings.resolved_erasure_journal_path.read_text()
    assert number not in text and "701234567" not in text
    # Every value is an id (a UUID, the journal's hex id): nothing else can be in there.
    id_like = re.compile(
        r"^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{32})$"
    )
    values = [v for e in report.entries for vs in e.ids.values() for v in vs]
    assert values and all(id_like.match(v) for v in values), values


def test_the_setting_puts_the_journal_on_other_storage(tmp_path: Path) -> None:
    from callvault.config import Settings

    elsewhere = tmp_path / "other-volume" / "journal.jsonl"
    settings = Settings(env="test", data_dir=tmp_path / "var", erasure_journal_path=elsewhere)
    assert settings.resolved_erasure_journal_path == elsewhere
