"""`backup create / verify`: complete and checksummed, or clearly not; never a KEK inside."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from callvault.backup.archive import BackupIncomplete
from callvault.backup.service import create_backup, verify_backup
from callvault.clock import FixedClock
from callvault.errors import InvalidInput
from callvault.runtime import Runtime
from tests.backup.calls import T0, cli, ingest


@pytest.fixture
def vault_runtime(world: tuple[Runtime, FixedClock], tmp_path: Path) -> Runtime:
    """A database of its own: a backup reads committed data through its own connection."""
    runtime, clock = world
    cli("init")
    clock.set(T0)
    ingest(tmp_path, "C")
    return runtime


@pytest.fixture
def backup(tmp_path: Path, vault_runtime: Runtime) -> Path:
    out = tmp_path / "backup"
    summary = create_backup(vault_runtime, out)
    assert summary.blobs == 2 and summary.blobs_included  # the audio and its metadata
    return out


def test_a_fresh_backup_verifies(vault_runtime: Runtime, backup: Path) -> None:
    result = verify_backup(vault_runtime, backup)
    assert result.ok, result.problems
    assert result.manifest["database"]["file"] in result.manifest["files"]
    assert not list(backup.parent.glob("backup.partial-*"))


def test_no_kek_is_in_the_backup(vault_runtime: Runtime, backup: Path) -> None:
    doc = json.loads(vault_runtime.keyring.path.read_bytes())  # type: ignore[attr-defined]
    secrets_in_keyfile = [base64.b64decode(v) for v in doc["keks"].values()]
    secrets_in_keyfile.append(base64.b64decode(doc["lookup"]))
    everything = b"".join(p.read_bytes() for p in backup.rglob("*") if p.is_file())
    for secret in secrets_in_keyfile:
        assert secret not in everything
        assert base64.b64encode(secret) not in everything
    facts = json.loads((backup / "keyring.json").read_text())
    assert facts["kind"] == "file" and facts["kek_ids_in_use"]


def _flip_a_bit(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 1
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    ("damage", "problem"),
    [
        (lambda b: _flip_a_bit(b / "blobs.json"), "checksum mismatch: blobs.json"),
        (lambda b: _flip_a_bit(next(b.glob("database.*"))), "checksum mismatch: database"),
        (lambda b: next((b / "blobs").iterdir()).unlink(), "missing: blobs/"),
        (lambda b: (b / "extra.txt").write_text("x"), "not in the manifest: extra.txt"),
    ],
    ids=["altered", "database-altered", "blob-missing", "extra-file"],
)
def test_verify_finds_damage(vault_runtime: Runtime, backup: Path, damage, problem: str) -> None:  # type: ignore[no-untyped-def]
    damage(backup)
    result = verify_backup(vault_runtime, backup)
    assert not result.ok
    assert any(p.startswith(problem) for p in result.problems), result.problems


def test_a_backup_without_its_manifest_is_incomplete(vault_runtime: Runtime, backup: Path) -> None:
    (backup / "MANIFEST.json").unlink()
    with pytest.raises(BackupIncomplete, match="did not finish"):
        verify_backup(vault_runtime, backup)


def test_a_signed_manifest_cannot_be_edited(vault_runtime: Runtime, backup: Path) -> None:
    path = backup / "MANIFEST.json"
    doc = json.loads(path.read_text())
    doc["journal"]["replay_from"] = 10**6  # would skip the replay
    path.write_text(json.dumps(doc))
    result = verify_backup(vault_runtime, backup)
    assert "the manifest's signature is not valid" in result.problems


def test_an_existing_directory_is_refused(vault_runtime: Runtime, backup: Path) -> None:
    with pytest.raises(InvalidInput):
        create_backup(vault_runtime, backup)
