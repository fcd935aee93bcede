"""Replaying the erasure journal onto a restored database: every erasure happens again."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
import structlog

from callvault.backup.journal import JournalEntry
from callvault.consent.models import ConsentEvidence
from callvault.db import transaction
from callvault.recordings.models import Recording
from callvault.retention.models import DeletionReason
from callvault.retention.service import begin_deletion, finish_deletions
from callvault.runtime import Runtime

log = structlog.get_logger(__name__)

BATCH = 500


@dataclass(frozen=True)
class ReplayResult:
    entries: int
    recordings_erased: int
    consent_evidence_erased: int
    epochs_destroyed: int


def replay_erasures(
    runtime: Runtime,
    entries: Sequence[JournalEntry],
    *,
    progress: Callable[[int], None] | None = None,
) -> ReplayResult:
    """Carry out every erasure in `entries` on the database as it is now (idempotent: what is
    already erased stays so). Epoch KEKs first, so nothing of a destroyed epoch is readable
    even for a moment; then recordings, in batches of 500 whatever entries they came from,
    through the same deletion as retention (each receipt keeps its withdrawal's id)."""
    groups: dict[DeletionReason, set[uuid.UUID]] = {}
    withdrawal_of: dict[uuid.UUID, uuid.UUID] = {}
    evidence: set[uuid.UUID] = set()
    epochs: dict[str, JournalEntry] = {}
    for entry in entries:
        evidence.update(uuid.UUID(i) for i in entry.ids.get("consent_evidence", []))
        for epoch in entry.ids.get("epochs", []):
            epochs.setdefault(epoch, entry)
        if entry.kind == "recordings_erased":
            recordings = [uuid.UUID(i) for i in entry.ids["recordings"]]
            withdrawals = entry.ids.get("withdrawals", [])
            reason = DeletionReason.WITHDRAWAL if withdrawals else DeletionReason.RETENTION
            groups.setdefault(reason, set()).update(recordings)
            if withdrawals:
                withdrawal_of.update((r, uuid.UUID(withdrawals[0])) for r in recordings)
    for epoch, entry in sorted(epochs.items()):
        runtime.keyring.destroy_epoch(epoch, entry.at)
    erased = 0
    now = runtime.clock.now()
    for reason, ids in groups.items():
        ordered = sorted(ids)
        for start in range(0, len(ordered), BATCH):
            batch = ordered[start : start + BATCH]
            with transaction(runtime.sessions) as session:
                begun = begin_deletion(
                    session,
                    runtime,
                    Recording.id.in_(batch),
                    reason=reason,
                    now=now,
                    journal=False,
                    withdrawal_of=withdrawal_of,
                )
            erased += len(begun.recording_ids)
            if progress is not None:
                progress(len(batch))
    gone = 0
    ordered_evidence = sorted(evidence)
    for start in range(0, len(ordered_evidence), BATCH):
        with transaction(runtime.sessions) as session:
            result = session.execute(
                sa.delete(ConsentEvidence)
                .where(ConsentEvidence.id.in_(ordered_evidence[start : start + BATCH]))
                .execution_options(synchronize_session=False)
            )
            gone += int(getattr(result, "rowcount", 0) or 0)
    finish_deletions(runtime)
    log.info("erasures_replayed", entries=len(entries), recordings=erased, epochs=len(epochs))
    return ReplayResult(len(entries), erased, gone, len(epochs))
