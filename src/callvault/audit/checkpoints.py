"""Signed checkpoints of the chain head, so that cutting entries off the end is detected."""

from __future__ import annotations

import sqlalchemy as sa
import structlog
from sqlalchemy.orm import Session

from callvault.audit.chain import checkpoint_message
from callvault.audit.models import AuditCheckpoint, AuditEntry
from callvault.audit.signing import CheckpointSigner, load_signer
from callvault.audit.verify import verify_segment
from callvault.db import transaction
from callvault.errors import IntegrityError
from callvault.runtime import Runtime

log = structlog.get_logger(__name__)


def create_checkpoint(
    session: Session,
    runtime: Runtime,
    *,
    signer: CheckpointSigner | None = None,
    force: bool = False,
) -> AuditCheckpoint | None:
    """Sign the newest committed entry (seq, hash, time); None when there is nothing new.

    Before signing, the entries since the last checkpoint are checked, so a checkpoint never
    blesses a chain that was rewritten after the previous one.
    """
    signer = signer or load_signer(runtime.settings.resolved_audit_signing_key)
    head = session.execute(
        sa.select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1)
    ).first()
    if head is None:
        return None
    last = session.scalars(
        sa.select(AuditCheckpoint)
        .order_by(AuditCheckpoint.seq.desc(), AuditCheckpoint.id.desc())
        .limit(1)
    ).first()
    if last is not None and last.seq > head.seq:
        raise IntegrityError(
            f"the audit chain ends at entry {head.seq} but checkpoint {last.seq} was signed: "
            "entries were cut off; run `callvault audit verify`"
        )
    if last is not None and last.seq == head.seq and not force:
        return None
    if last is not None:
        _check_since(session, last, signer)
    at = runtime.clock.now()
    checkpoint = AuditCheckpoint(
        seq=head.seq,
        hash=head.hash,
        at=at,
        key_id=signer.key_id,
        signature=signer.sign(checkpoint_message(head.seq, head.hash, at, signer.key_id)),
    )
    session.add(checkpoint)
    session.flush()
    log.info("audit_checkpoint", seq=head.seq, key_id=signer.key_id)
    return checkpoint


def checkpoint_now(runtime: Runtime, *, force: bool = False) -> AuditCheckpoint | None:
    """`create_checkpoint` in a transaction of its own (the periodic task and the CLI)."""
    with transaction(runtime.sessions) as session:
        return create_checkpoint(session, runtime, force=force)


def _check_since(session: Session, last: AuditCheckpoint, signer: CheckpointSigner) -> None:
    message = checkpoint_message(last.seq, last.hash, last.at, last.key_id)
    if last.key_id == signer.key_id and not signer.verifier.verify(message, last.signature):
        raise IntegrityError(
            f"the last audit checkpoint (seq {last.seq}) has an invalid signature; "
            "run `callvault audit verify`"
        )
    report = verify_segment(session.connection(), last.seq + 1, last.hash)
    if not report.ok:
        raise IntegrityError(
            f"the audit chain changed after checkpoint {last.seq} (first bad entry "
            f"{report.first_bad_seq}); refusing to sign it; run `callvault audit verify`"
        )
