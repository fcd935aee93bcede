"""Deleting recordings (§7): after retention runs out, or at once when consent is withdrawn.

Deletion has two phases with the state kept in the database, so a crash anywhere resumes:

1. *Begin* (one transaction per batch): claim the recordings by moving them to "deleting",
   destroy their data keys in the vault (crypto-shredding), delete their consent evidence, clear
   the personal columns of the row and write a `DeletionReceipt` listing the blob names still to
   remove. Once this commits nothing of the recording can be decrypted; if it does not commit,
   nothing changed.
2. *Finish*: delete the blobs (idempotent), then mark the recording "deleted" and the receipt
   done. A crash before the mark leaves the receipt unfinished and the next run deletes the
   (already unreadable) blobs again, which is harmless.

The row itself stays as a tombstone in state "deleted" with its personal columns cleared, so
foreign keys from grants and audit references keep pointing somewhere and a re-delivered ingest
webhook for the same call id cannot bring the recording back. There is no legal hold: the
policy has none, so nothing can stop a due deletion.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
import structlog
from sqlalchemy.orm import Session

from callvault.consent.models import ConsentEvidence
from callvault.db import transaction
from callvault.recordings.models import Recording, RecordingState
from callvault.retention.epochs import retire_expired_epochs
from callvault.retention.models import DeletionReason, DeletionReceipt
from callvault.runtime import Runtime

log = structlog.get_logger(__name__)

DEFAULT_BATCH = 500
LIVE_STATES: tuple[str, ...] = tuple(
    s.value for s in RecordingState if s not in (RecordingState.DELETING, RecordingState.DELETED)
)
CLEARED_COLUMNS = ("caller_number", "agent_id", "team", "content_sha256", "consent_evidence_id")

Progress = Callable[[int], None]


@dataclass(frozen=True)
class SweepResult:
    """What one retention run did (or, for a dry run, would do)."""

    dry_run: bool
    due: int
    begun: int
    finished: int
    blobs_deleted: int
    consent_evidence_deleted: int
    overdue_after: int


@dataclass(frozen=True)
class Begun:
    """Recordings whose deletion began, and how many consent-evidence rows went with them."""

    recording_ids: list[uuid.UUID]
    consent_evidence_deleted: int


@dataclass(frozen=True)
class FinishResult:
    finished: int
    blobs_deleted: int


def overdue_count(session: Session, now: datetime) -> int:
    """Recordings past their deletion time and not fully deleted: the health figure (0 is good)."""
    live_due = session.scalar(
        sa.select(sa.func.count())
        .select_from(Recording)
        .where(Recording.state.in_(LIVE_STATES), Recording.expires_at <= now)
    )
    unfinished = session.scalar(
        sa.select(sa.func.count())
        .select_from(DeletionReceipt)
        .where(DeletionReceipt.deleted_at.is_(None), DeletionReceipt.due_at <= now)
    )
    return int(live_due or 0) + int(unfinished or 0)


def count_due(session: Session, now: datetime) -> int:
    """Live recordings whose retention has run out (what a sweep would begin deleting)."""
    return int(
        session.scalar(
            sa.select(sa.func.count())
            .select_from(Recording)
            .where(Recording.state.in_(LIVE_STATES), Recording.expires_at <= now)
        )
        or 0
    )


def count_unfinished(session: Session) -> int:
    return int(
        session.scalar(
            sa.select(sa.func.count())
            .select_from(DeletionReceipt)
            .where(DeletionReceipt.deleted_at.is_(None))
        )
        or 0
    )


def _claim(session: Session, condition: sa.ColumnElement[bool], limit: int | None) -> list[Any]:
    """Move live recordings matching `condition` to "deleting"; returns the claimed rows.

    One UPDATE ... RETURNING per live state, so two sweepers never claim the same recording; on
    PostgreSQL the candidates are locked with SKIP LOCKED so concurrent sweepers take different
    batches. With a limit, candidates are taken per state in `expires_at` order, which the
    (state, expires_at) index gives without sorting: a batch costs the same however many
    recordings the store holds.
    """
    rows: list[Any] = []
    for state in LIVE_STATES:
        candidates = sa.select(Recording.id).where(Recording.state == state, condition)
        if limit is not None:
            if len(rows) >= limit:
                break
            candidates = candidates.order_by(Recording.expires_at).limit(limit - len(rows))
        if session.get_bind().dialect.name == "postgresql":
            candidates = candidates.with_for_update(skip_locked=True)
        stmt = (
            sa.update(Recording)
            .where(Recording.id.in_(candidates.scalar_subquery()), Recording.state == state)
            .values(state=RecordingState.DELETING.value)
            .returning(
                Recording.id,
                Recording.expires_at,
                Recording.call_id,
                Recording.consent_evidence_id,
                Recording.caller_number_hash,
            )
            .execution_options(synchronize_session=False)
        )
        rows.extend(session.execute(stmt).all())
    if rows:
        from callvault.recordings.tally import adjust

        adjust(session, -len(rows))  # a bulk UPDATE: the ORM hook does not see these leave
    return rows


def begin_deletion(
    session: Session,
    runtime: Runtime,
    condition: sa.ColumnElement[bool],
    *,
    reason: DeletionReason,
    now: datetime,
    limit: int | None = None,
    withdrawal_id: uuid.UUID | None = None,
    journal: bool = True,
    withdrawal_of: Mapping[uuid.UUID, uuid.UUID] | None = None,
) -> Begun:
    """Phase 1 for live recordings matching `condition`, inside the caller's transaction.

    Their keys are destroyed in this same transaction, and so are those of any DSAR bundle of
    their callers: a bundle holds copies of the recordings. The erasure is written to the
    erasure journal before it commits (`journal=False` only for a restore's replay of it,
    which names each recording's withdrawal in `withdrawal_of` to replay many in one batch).
    """
    from callvault.backup.journal import journal_erasure
    from callvault.dsar.service import BundleDeletion, shred_bundles_of_callers
    from callvault.vault import service as vault
    from callvault.vault.models import Artifact

    rows = _claim(session, condition, limit)
    if not rows:
        return Begun([], 0)
    ids = [row.id for row in rows]
    kinds: dict[uuid.UUID, list[str]] = {rid: [] for rid in ids}
    for owner_id, kind in session.execute(
        sa.select(Artifact.owner_id, Artifact.kind).where(Artifact.owner_id.in_(ids))
    ):
        kinds[owner_id].append(kind)
    evidence_ids = [row.consent_evidence_id for row in rows if row.consent_evidence_id]
    call_ids = [row.call_id for row in rows]
    evidence_deleted, evidence_gone = _delete_consent_evidence(session, evidence_ids, call_ids)
    if journal:
        journal_erasure(
            runtime,
            "recordings_erased",
            {
                "recordings": ids,
                "consent_evidence": evidence_gone,
                "withdrawals": [withdrawal_id] if withdrawal_id else [],
            },
            at=now,
        )
    shred_bundles_of_callers(
        session,
        runtime,
        [row.caller_number_hash for row in rows],
        reason=(
            BundleDeletion.WITHDRAWAL
            if reason is DeletionReason.WITHDRAWAL
            else BundleDeletion.RETENTION
        ),
    )
    session.execute(
        sa.update(Recording)
        .where(Recording.id.in_(ids))
        .values(
            caller_number_enc=None,
            caller_number_hash=None,
            consent_evidence_id=None,
            agent_id="",
            team=None,
            content_sha256="",
        )
        .execution_options(synchronize_session=False)
    )
    # What other parts keep about these recordings (clips, evaluations) goes in this same
    # transaction; their blobs are deleted with the recording's.
    dependent_blobs = delete_dependents(session, ids, now, reason=reason.value)
    receipts = []
    shredded = vault.shred_keys_of(session, ids)
    for row in rows:
        names = sorted(shredded[row.id]) + dependent_blobs.get(row.id, [])
        receipts.append(
            {
                "id": uuid.uuid4(),
                "recording_id": row.id,
                "reason": reason.value,
                "withdrawal_id": (withdrawal_of or {}).get(row.id, withdrawal_id),
                "due_at": row.expires_at if reason is DeletionReason.RETENTION else now,
                "started_at": now,
                "deleted_at": None,
                "removed": {
                    "artifacts": sorted(kinds[row.id]),
                    "data_keys_destroyed": len(names),
                    "blobs": len(names),
                    "consent_evidence": evidence_deleted.get(row.call_id, 0),
                    "personal_fields_cleared": list(CLEARED_COLUMNS),
                },
                "pending_blobs": names,
            }
        )
    session.execute(sa.insert(DeletionReceipt), receipts)
    _audit(session, reason, ids, now, withdrawal_id)
    session.expire_all()
    log.info("deletion_begun", reason=reason.value, recordings=len(ids))
    return Begun(ids, sum(evidence_deleted.values()))


def delete_dependents(
    session: Session, recording_ids: Sequence[uuid.UUID], now: datetime, *, reason: str
) -> dict[uuid.UUID, list[str]]:
    """Delete, in the caller's transaction, what other parts keep about these recordings (such as
    evaluations and training clips): every part with a `dependents` module decides what goes
    with a recording, and why (`reason`: retention, withdrawal or fsck). Returns, per recording,
    the blob names to delete after commit. Retention, withdrawal and fsck all call this one
    function."""
    from callvault.parts import part_modules

    blobs: dict[uuid.UUID, list[str]] = {}
    for module in part_modules("dependents"):
        for recording_id, names in module.delete_with_recordings(
            session, recording_ids, now, reason=reason
        ).items():
            blobs.setdefault(recording_id, []).extend(names)
    return blobs


def _delete_consent_evidence(
    session: Session, evidence_ids: Sequence[uuid.UUID], call_ids: Sequence[str]
) -> tuple[dict[str, int], list[uuid.UUID]]:
    """Delete the evidence of these calls; returns how many rows went per call id, and their
    ids."""
    condition: sa.ColumnElement[bool] = ConsentEvidence.call_id.in_(call_ids)
    if evidence_ids:
        condition = sa.or_(condition, ConsentEvidence.id.in_(evidence_ids))
    gone = session.execute(
        sa.delete(ConsentEvidence)
        .where(condition)
        .returning(ConsentEvidence.call_id, ConsentEvidence.id)
        .execution_options(synchronize_session=False)
    ).all()
    counts: dict[str, int] = {}
    for call_id, _ in gone:
        counts[call_id] = counts.get(call_id, 0) + 1
    return counts, [evidence_id for _, evidence_id in gone]


def delete_unused_consent_evidence(session: Session, now: datetime, runtime: Runtime) -> int:
    """Delete consent evidence whose call never became a (live) recording, once the longest
    retention of its policy version has passed: evidence of consent is kept as long as the
    recording it covers, and no longer (e.g. a call whose audio never arrived)."""
    from callvault.audit.service import record
    from callvault.policy.models import PolicyPurpose
    from callvault.policy.purposes import RESULT_PURPOSES

    longest = session.execute(
        sa.select(PolicyPurpose.policy_version_id, sa.func.max(PolicyPurpose.retention_days))
        .where(PolicyPurpose.code.not_in(sorted(RESULT_PURPOSES)))  # no recording is kept for them
        .group_by(PolicyPurpose.policy_version_id)
    ).all()
    deleted = 0
    gone_ids: list[uuid.UUID] = []
    for version_id, days in longest:
        live_recording = sa.exists().where(
            Recording.state.in_(LIVE_STATES),
            sa.or_(
                Recording.consent_evidence_id == ConsentEvidence.id,
                Recording.call_id == ConsentEvidence.call_id,
            ),
        )
        gone = session.execute(
            sa.delete(ConsentEvidence)
            .where(
                ConsentEvidence.policy_version_id == version_id,
                ConsentEvidence.given_at <= now - timedelta(days=int(days)),
                ~live_recording,
            )
            .returning(ConsentEvidence.id)
            .execution_options(synchronize_session=False)
        ).all()
        deleted += len(gone)
        gone_ids.extend(row.id for row in gone)
    if deleted:
        from callvault.backup.journal import journal_erasure

        journal_erasure(runtime, "consent_evidence_erased", {"consent_evidence": gone_ids}, at=now)
        record(
            session,
            actor="system",
            action="retention.delete",
            object_type="consent_evidence",
            source="worker",
            details={"consent_evidence": deleted, "reason": "retention"},
            at=now,
        )
    return deleted


def _audit(
    session: Session,
    reason: DeletionReason,
    ids: Sequence[uuid.UUID],
    now: datetime,
    withdrawal_id: uuid.UUID | None,
) -> None:
    from callvault.audit.service import record

    details: dict[str, object] = {"recordings": [str(i) for i in ids], "reason": reason.value}
    if withdrawal_id is not None:
        details["withdrawal_id"] = str(withdrawal_id)
    record(
        session,
        actor="system",
        action="retention.delete",
        object_type="recording",
        object_id=str(ids[0]) if len(ids) == 1 else None,
        source="worker",
        details=details,
        at=now,
    )


def finish_deletions(
    runtime: Runtime,
    *,
    recording_ids: Collection[uuid.UUID] | None = None,
    batch_size: int = DEFAULT_BATCH,
    progress: Progress | None = None,
) -> FinishResult:
    """Phase 2: delete the blobs of unfinished deletions, then mark them deleted.

    Each batch: (a) shred again any key stored since phase 1 (an artifact written by a job that
    was already running) and add its blob to the receipt, (b) delete the blobs, (c) mark the
    recordings "deleted" and the receipts done. Every step is idempotent.
    """
    from callvault.vault import service as vault
    from callvault.vault.models import Artifact

    finished = blobs = 0
    after: tuple[datetime, uuid.UUID] | None = None
    while True:
        with transaction(runtime.sessions) as session:
            query = (
                sa.select(DeletionReceipt)
                .where(DeletionReceipt.deleted_at.is_(None))
                .order_by(DeletionReceipt.due_at, DeletionReceipt.id)
                .limit(batch_size)
            )
            if recording_ids is not None:
                query = query.where(DeletionReceipt.recording_id.in_(list(recording_ids)))
            if after is not None:
                query = query.where(
                    sa.tuple_(DeletionReceipt.due_at, DeletionReceipt.id) > sa.tuple_(*after)
                )
            receipts = list(session.scalars(query))
            if not receipts:
                break
            after = (receipts[-1].due_at, receipts[-1].id)
            # Usually none: one query finds the owners that still have a key, if any.
            still_keyed = set(
                session.scalars(
                    sa.select(Artifact.owner_id).where(
                        Artifact.owner_id.in_([r.recording_id for r in receipts])
                    )
                )
            )
            for receipt in (r for r in receipts if r.recording_id in still_keyed):
                late = vault.shred_owner_keys(session, receipt.recording_id)
                if late:
                    receipt.pending_blobs = sorted(set(receipt.pending_blobs) | set(late))
                    receipt.removed = {**receipt.removed, "blobs": len(receipt.pending_blobs)}
            names = [name for r in receipts for name in r.pending_blobs]
            receipt_ids = [r.id for r in receipts]
            recording_of = [r.recording_id for r in receipts]
        blobs += vault.delete_blobs(runtime, names)
        with transaction(runtime.sessions) as session:
            now = runtime.clock.now()
            session.execute(
                sa.update(Recording)
                .where(Recording.id.in_(recording_of))
                .values(state=RecordingState.DELETED.value)
                .execution_options(synchronize_session=False)
            )
            session.execute(
                sa.update(DeletionReceipt)
                .where(DeletionReceipt.id.in_(receipt_ids), DeletionReceipt.deleted_at.is_(None))
                .values(deleted_at=now, pending_blobs=[])
                .execution_options(synchronize_session=False)
            )
        finished += len(receipts)
        if progress is not None:
            progress(len(receipts))
    if finished:
        log.info("deletion_finished", recordings=finished, blobs=blobs)
    return FinishResult(finished=finished, blobs_deleted=blobs)


def delete_expired_recordings(
    runtime: Runtime,
    *,
    dry_run: bool = False,
    batch_size: int = DEFAULT_BATCH,
    progress: Progress | None = None,
    on_total: Callable[[int], None] | None = None,
) -> SweepResult:
    """The retention sweep: finish interrupted deletions, then delete every expired recording.

    Batches commit one by one, so a crash loses at most the current batch's uncommitted work,
    and that is redone on the next run. `progress` is told how many recordings each step did.
    """
    from callvault.training.lifecycle import expire_retained_clips
    from callvault.vault import service as vault

    now = runtime.clock.now()
    with transaction(runtime.sessions) as session:
        due = count_due(session, now)
        unfinished = count_unfinished(session)
    if on_total is not None:
        on_total(due + unfinished)
    if dry_run:
        return SweepResult(True, due, 0, 0, 0, 0, overdue_after=due + unfinished)
    leftover = finish_deletions(runtime, batch_size=batch_size, progress=progress)
    begun = finished = blobs = evidence = 0
    while True:
        with transaction(runtime.sessions) as session:
            begun_now = begin_deletion(
                session,
                runtime,
                Recording.expires_at <= now,
                reason=DeletionReason.RETENTION,
                now=now,
                limit=batch_size,
            )
        ids = begun_now.recording_ids
        evidence += begun_now.consent_evidence_deleted
        if not ids:
            break
        begun += len(ids)
        done = finish_deletions(runtime, recording_ids=ids, batch_size=batch_size)
        finished += done.finished
        blobs += done.blobs_deleted
        if progress is not None:
            progress(len(ids))
    with transaction(runtime.sessions) as session:
        evidence += delete_unused_consent_evidence(session, now, runtime)
        kept_clips = expire_retained_clips(session, now)
    retire_expired_epochs(runtime, now)
    with transaction(runtime.sessions) as session:
        overdue = overdue_count(session, now)
    blobs += vault.delete_blobs_from(
        runtime.blobs, [n for names in kept_clips.values() for n in names]
    )
    result = SweepResult(
        dry_run=False,
        due=due,
        begun=begun,
        finished=finished + leftover.finished,
        blobs_deleted=blobs + leftover.blobs_deleted,
        consent_evidence_deleted=evidence,
        overdue_after=overdue,
    )
    log.info(
        "retention_sweep_done",
        due=due,
        begun=begun,
        finished=result.finished,
        blobs=result.blobs_deleted,
        overdue_after=overdue,
    )
    return result
