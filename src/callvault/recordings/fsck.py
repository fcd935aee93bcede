"""fsck for recordings: every live recording has its encrypted original audio and metadata."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from callvault.recordings.models import Recording, RecordingState
from callvault.runtime import Runtime
from callvault.vault.fsck import Finding
from callvault.vault.models import Artifact
from callvault.vault.service import delete_blobs_from, shred_owner_keys

LIVE = (RecordingState.INGESTED, RecordingState.PROCESSING, RecordingState.READY)
REQUIRED = ("original", "metadata")


def check(session: Session, runtime: Runtime, *, repair: bool) -> list[Finding]:
    """A live recording missing a required artifact cannot be played or redacted: report it,
    and with `repair` delete it (its keys, blobs, row and consent evidence), as ingest would
    have had it never committed."""
    findings: list[Finding] = []
    present: dict[object, set[str]] = {}
    for owner_id, kind in session.execute(
        sa.select(Artifact.owner_id, Artifact.kind).where(Artifact.kind.in_(REQUIRED))
    ):
        present.setdefault(owner_id, set()).add(kind)
    for recording in session.scalars(sa.select(Recording).where(Recording.state.in_(LIVE))):
        missing = sorted(set(REQUIRED) - present.get(recording.id, set()))
        if not missing:
            continue
        if repair:
            _remove(session, runtime, recording)
        findings.append(Finding(f"recording_without_{missing[0]}", str(recording.id), repair))
    session.flush()
    return findings


def _remove(session: Session, runtime: Runtime, recording: Recording) -> None:
    from callvault.consent.models import ConsentEvidence
    from callvault.retention.service import delete_dependents

    names = shred_owner_keys(session, recording.id)
    dependents = delete_dependents(session, [recording.id], runtime.clock.now(), reason="fsck")
    names += dependents.get(recording.id, [])
    evidence_id = recording.consent_evidence_id
    session.delete(recording)
    session.flush()
    if evidence_id is not None:
        session.execute(sa.delete(ConsentEvidence).where(ConsentEvidence.id == evidence_id))
    delete_blobs_from(runtime.blobs, names)
