"""`callvault backup create / verify`: a consistent, checksummed copy that holds no KEK.

What goes in: the database (a consistent online snapshot), the list of blobs it refers to and,
for file:// storage, the encrypted blobs; the keyring's KEK ids and epochs but never a KEK (a
local key file's KEKs, or anything held in a KMS): a backup with KEKs in it would bring back
every erased call whose epoch has been destroyed since. What it records: the audit chain's
head and the erasure journal's position, so a restore can continue the one and replay the other.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import structlog

from callvault.audit.signing import (
    CheckpointVerifier,
    ensure_signing_key,
    load_signer,
    load_verifier,
)
from callvault.backup import archive
from callvault.backup.journal import journal_head, read_journal
from callvault.backup.snapshot import snapshot_database
from callvault.config import write_private_file
from callvault.errors import InvalidInput, KeyringError, NotFound
from callvault.runtime import Runtime
from callvault.vault.keyring import KmsKeyring
from callvault.vault.storage import FileBlobStore

log = structlog.get_logger(__name__)

# Entries written this long before the snapshot may belong to transactions it does not hold
# yet (a journal entry is written before its transaction commits): a restore replays them too.
# Replaying an erasure the backup already holds changes nothing.
REPLAY_GRACE = timedelta(minutes=15)

Progress = Callable[[int], None]


@dataclass(frozen=True)
class BackupSummary:
    path: Path
    backup_id: str
    blobs: int
    blobs_included: bool
    bytes: int


def create_backup(
    runtime: Runtime,
    out: Path,
    *,
    on_total: Callable[[int], None] | None = None,
    progress: Progress | None = None,
) -> BackupSummary:
    """Write a backup to the new directory `out`. It is built in `out.partial-…` and renamed
    when complete, so `out` is either a whole, verifiable backup or absent."""
    out = out.resolve()
    if out.exists():
        raise InvalidInput(f"{out} exists already; give a new directory")
    settings = runtime.settings
    ensure_signing_key(settings.resolved_audit_signing_key)
    signer = load_signer(settings.resolved_audit_signing_key)
    journal = journal_head(runtime)
    replay_from = _replay_from(runtime, journal.seq)
    work = out.with_name(f"{out.name}.partial-{secrets.token_hex(4)}")
    work.mkdir(parents=True, mode=0o700)
    backup_id = secrets.token_hex(16)
    created_at = runtime.clock.now()
    db_file, facts = snapshot_database(settings.resolved_database_url, runtime.engine, work)
    include = isinstance(runtime.blobs, FileBlobStore)
    if on_total is not None:
        on_total(len(facts.blobs))
    missing: list[str] = []
    total_bytes = 0
    if include:
        (work / "blobs").mkdir(mode=0o700)
    for name, _size in facts.blobs:
        if include:
            try:
                total_bytes += _copy_blob(runtime, name, work / "blobs" / name)
            except NotFound:
                missing.append(name)  # erased since the snapshot: the journal replays that
        if progress is not None:
            progress(1)
    write_private_file(work / "blobs.json", json.dumps(facts.blobs).encode())
    _write_keyring_facts(runtime, work, facts.kek_ids)
    files = {
        p.relative_to(work).as_posix(): {"sha256": archive.file_digest(p), "size": p.stat().st_size}
        for p in sorted(work.rglob("*"))
        if p.is_file()
    }
    manifest: dict[str, Any] = {
        "format": archive.FORMAT,
        "backup_id": backup_id,
        "created_at": created_at.isoformat(),
        "written_at": datetime.now(UTC).isoformat(),
        "database": {"file": db_file, "dialect": runtime.engine.dialect.name},
        "audit_head": {"seq": facts.audit_seq, "hash": facts.audit_hash},
        "journal": {
            "journal_id": journal.journal_id,
            "seq": journal.seq,
            "hash": journal.hash,
            "replay_from": replay_from,
        },
        "blobs": {
            "storage": "file" if include else "s3",
            "included": include,
            "count": len(facts.blobs),
            "missing_since_snapshot": missing,
        },
        "files": files,
    }
    signed = archive.sign_manifest(manifest, signer)
    write_private_file(work / archive.MANIFEST, archive.canonical(signed))
    _fsync_dir(work)
    os.rename(work, out)
    _fsync_dir(out.parent)
    log.info("backup_created", backup_id=backup_id, blobs=len(facts.blobs), missing=len(missing))
    return BackupSummary(out, backup_id, len(facts.blobs), include, total_bytes)


def _replay_from(runtime: Runtime, head_seq: int) -> int:
    report = read_journal(
        runtime.settings.resolved_erasure_journal_path,
        load_verifier(runtime.settings.resolved_audit_signing_key),
    )
    since = datetime.now(UTC) - REPLAY_GRACE
    recent = [e.seq for e in report.entries if e.written >= since]
    return min(recent) if recent else head_seq + 1


def _copy_blob(runtime: Runtime, name: str, target: Path) -> int:
    size = 0
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        for chunk in runtime.blobs.get(name):
            handle.write(chunk)
            size += len(chunk)
        handle.flush()
        os.fsync(handle.fileno())
    return size


def _write_keyring_facts(runtime: Runtime, work: Path, kek_ids: list[str]) -> None:
    """KEK ids and epochs only. A KMS keyring's sealed look-up key goes too (the KMS must
    unseal it); a local key file's KEKs never do: keep that file's own copies short-lived."""
    keyring = runtime.keyring
    doc = {
        "kind": "kms" if isinstance(keyring, KmsKeyring) else "file",
        "kek_ids_in_use": kek_ids,
        "epochs": [
            {"epoch": s.epoch, "kek_ids": list(s.kek_ids), "live": s.live} for s in keyring.epochs()
        ],
    }
    write_private_file(work / "keyring.json", json.dumps(doc, sort_keys=True).encode())
    if isinstance(keyring, KmsKeyring) and keyring.lookup_path.exists():
        shutil.copyfile(keyring.lookup_path, work / "kms-lookup.json")


def verify_backup(runtime: Runtime, path: Path) -> archive.VerifyResult:
    """Check a backup's files against its signed manifest."""
    verifier: CheckpointVerifier | None
    try:
        verifier = load_verifier(runtime.settings.resolved_audit_signing_key)
    except KeyringError:  # no key at hand: the checksums are still checked
        verifier = None
    return archive.verify_archive(path.resolve(), verifier)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
