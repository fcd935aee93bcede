"""`callvault backup restore IN --yes`: the database and blobs back, then every erasure since.

Order, so that a crash anywhere leaves callvault refusing to serve rather than serving what
should be gone: verify the backup and the journal (nothing touched yet), set the restore
marker, restore the database and the blobs, append the restore to the audit chain (linked to
the backup's chain head), replay the journal, run the retention sweep (which also destroys
epochs that ended meanwhile), remove what no key can open any more, clear the marker. Running
it again after a crash starts over from the backup and ends the same way.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import structlog

from callvault.backup import archive
from callvault.backup.journal import JournalBroken, JournalEntry, JournalHead, entries_since
from callvault.backup.marker import clear_marker, set_marker
from callvault.backup.queries import RESTORE_ACTION
from callvault.backup.replay import ReplayResult, replay_erasures
from callvault.backup.service import verify_backup
from callvault.backup.snapshot import restore_database
from callvault.config import write_private_file
from callvault.db import migrate, transaction
from callvault.runtime import Runtime
from callvault.vault.keyring import KmsKeyring
from callvault.vault.storage import FileBlobStore

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class RestoreSummary:
    backup_id: str
    without_journal: bool
    replay: ReplayResult | None
    beyond_use: int  # recordings in the backup whose epoch KEK is destroyed
    swept: int
    blobs_restored: int
    blobs_missing: int


def restore_backup(
    runtime: Runtime,
    path: Path,
    *,
    without_journal: bool = False,
    progress: Callable[[str], None] | None = None,
) -> RestoreSummary:
    """Restore the backup at `path` into the configured database and storage."""
    from callvault.retention.service import delete_expired_recordings
    from callvault.vault.fsck import fsck

    say = progress or (lambda _step: None)
    checked = verify_backup(runtime, path)
    if not checked.ok:
        raise archive.BackupIncomplete(
            "the backup is damaged or incomplete: " + "; ".join(checked.problems[:5])
        )
    manifest = checked.manifest
    entries: list[JournalEntry] | None = None
    if not without_journal:
        journal = manifest["journal"]
        head = JournalHead(journal["journal_id"], int(journal["seq"]), journal["hash"])
        try:  # before anything is touched
            entries = entries_since(runtime, head, grace_from=int(journal["replay_from"]))
        except JournalBroken as exc:
            raise JournalBroken(
                f"{exc.message}. Nothing was restored. Put back the journal from its own copy "
                "(CALLVAULT_ERASURE_JOURNAL_PATH), or restore with --without-journal: that is "
                "audited and shown to the DPO, and erasures since the backup are not redone"
            ) from None
    backup_id = str(manifest["backup_id"])
    set_marker(runtime, backup_id)
    say("database")
    restore_database(
        runtime.settings.resolved_database_url,
        runtime.engine,
        path.resolve() / manifest["database"]["file"],
    )
    migrate(runtime.engine)
    _restore_kms_lookup(runtime, path.resolve())
    say("blobs")
    restored, missing = _restore_blobs(runtime, path.resolve(), manifest)
    beyond_use = _beyond_use(runtime)
    _audit_restore(runtime, manifest, without_journal, len(entries or []), beyond_use)
    replay = None
    if entries is not None:
        say("journal")
        replay = replay_erasures(runtime, entries)
    say("retention")
    swept = delete_expired_recordings(runtime).begun
    fsck(runtime, repair=True, grace=timedelta(0))
    clear_marker(runtime)
    log.info("backup_restored", backup_id=backup_id, without_journal=without_journal)
    return RestoreSummary(backup_id, without_journal, replay, beyond_use, swept, restored, missing)


def _restore_blobs(runtime: Runtime, root: Path, manifest: dict[str, Any]) -> tuple[int, int]:
    """Put back the backup's blobs the store lacks; with s3:// only count what is missing
    (bucket versioning or replication holds those blobs, not the backup)."""
    names = [str(n) for n, _ in json.loads((root / "blobs.json").read_bytes())]
    restored = missing = 0
    for name in names:
        if runtime.blobs.exists(name):
            continue
        source = root / "blobs" / name
        if manifest["blobs"]["included"] and source.is_file():
            with source.open("rb") as handle:
                runtime.blobs.put(name, iter(lambda: handle.read(1 << 20), b""))
            restored += 1
        else:
            missing += 1
    if missing and not isinstance(runtime.blobs, FileBlobStore):
        log.warning("restore_blobs_missing", blobs=missing)
    return restored, missing


def _restore_kms_lookup(runtime: Runtime, root: Path) -> None:
    """A KMS keyring's sealed look-up key, if this machine lacks it (only the KMS opens it)."""
    keyring = runtime.keyring
    sealed = root / "kms-lookup.json"
    if isinstance(keyring, KmsKeyring) and sealed.is_file() and not keyring.lookup_path.exists():
        keyring.lookup_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        write_private_file(keyring.lookup_path, sealed.read_bytes())


def _beyond_use(runtime: Runtime) -> int:
    """Recordings whose keys no KEK can unwrap any more: their epoch was destroyed."""
    from callvault.recordings.models import Recording
    from callvault.vault.models import Artifact

    with transaction(runtime.sessions) as session:
        keks = list(session.scalars(sa.select(Artifact.kek_id).distinct()))
        gone = [k for k in keks if not runtime.keyring.has_kek(k)]
        if not gone:
            return 0
        return int(
            session.scalar(
                sa.select(sa.func.count(sa.distinct(Artifact.owner_id))).where(
                    Artifact.kek_id.in_(gone),
                    Artifact.owner_id.in_(sa.select(Recording.id)),
                )
            )
            or 0
        )


def _audit_restore(
    runtime: Runtime,
    manifest: dict[str, Any],
    without_journal: bool,
    entries: int,
    beyond_use: int,
) -> None:
    """The first entry after the backup's chain head: it names that head, and links to it."""
    from callvault.audit.service import record

    head = manifest["audit_head"]
    with transaction(runtime.sessions) as session:
        record(
            session,
            actor="system",
            action=RESTORE_ACTION,
            object_type="backup",
            object_id=str(manifest["backup_id"]),
            source="cli",
            outcome="ok",
            details={
                "backup_created_at": manifest["created_at"],
                "backup_audit_head_seq": head["seq"],
                "backup_audit_head_hash": head["hash"],
                "without_journal": without_journal,
                "journal_entries_to_replay": entries,
                "recordings_beyond_use": beyond_use,
            },
            at=runtime.clock.now(),
        )
