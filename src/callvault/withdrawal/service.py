"""Withdrawal of consent: the caller's recordings become unreadable at once, then disappear.

The caller's data keys are destroyed in the transaction that registers the withdrawal (the
first phase of `callvault.retention.service`), and a queued job removes the blobs once that
transaction has committed; the periodic retention sweep finishes anything the job missed.
Every request gets a fresh reference and the same answer, whether or not the number ever
called, so the form cannot be used to learn who called.
"""

from __future__ import annotations

import contextlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
import structlog
from sqlalchemy.orm import Session

from callvault.consent.models import ConsentEvidence
from callvault.errors import InvalidInput
from callvault.phone import normalise_e164
from callvault.recordings.models import Recording
from callvault.retention.models import DeletionReason
from callvault.retention.service import begin_deletion
from callvault.runtime import Runtime
from callvault.withdrawal.models import Withdrawal

log = structlog.get_logger(__name__)

CHANNELS = frozenset({"api", "web", "cli", "ivr"})
# Crockford's base 32 without look-alikes, so the reference can be read out on the phone.
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


@dataclass(frozen=True)
class WithdrawalReceipt:
    """What the caller is told. The same shape whether or not anything was found."""

    reference: str
    registered_at: datetime
    status: str = "registered"


def new_reference() -> str:
    """`W-XXXX-XXXX`: 40 random bits, easy to read out and type back."""
    chars = "".join(secrets.choice(_ALPHABET) for _ in range(8))
    return f"W-{chars[:4]}-{chars[4:]}"


def _recording_by_reference(session: Session, reference: str) -> Recording | None:
    """A call reference is the telephony call id or the recording id."""
    text = reference.strip()
    if not text:
        return None
    condition: sa.ColumnElement[bool] = Recording.call_id == text
    with contextlib.suppress(ValueError):
        condition = sa.or_(condition, Recording.id == uuid.UUID(text))
    return session.scalar(sa.select(Recording).where(condition).limit(1))


def withdraw(
    session: Session,
    runtime: Runtime,
    *,
    number: str | None = None,
    call_reference: str | None = None,
    actor: str,
    channel: str,
) -> WithdrawalReceipt:
    """Register a withdrawal by phone number (any usual form) or by call reference.

    By call reference, every recording of the same caller goes (when the number is known), not
    only that call: consent is withdrawn by a person, not by a call.
    """
    from callvault.audit.service import record
    from callvault.backup.journal import journal_erasure
    from callvault.dsar.service import BundleDeletion, shred_bundles_of_callers
    from callvault.retention.tasks import finish_recording_deletions
    from callvault.vault.fields import phone_lookup_hash
    from callvault.worker.queue import enqueue_after_commit

    if (number is None) == (call_reference is None):
        raise InvalidInput("give either a phone number or a call reference")
    if channel not in CHANNELS:
        raise InvalidInput("unknown withdrawal channel")
    now = runtime.clock.now()
    number_hash: str | None = None
    condition: sa.ColumnElement[bool] = sa.false()
    if number is not None:
        number_hash = phone_lookup_hash(runtime.keyring, normalise_e164(number))
    else:
        assert call_reference is not None
        found = _recording_by_reference(session, call_reference)
        if found is not None:
            number_hash = found.caller_number_hash
            condition = Recording.id == found.id
    if number_hash is not None:
        condition = sa.or_(condition, Recording.caller_number_hash == number_hash)

    withdrawal = Withdrawal(
        reference=new_reference(),
        caller_number_hash=number_hash,
        by="number" if number is not None else "call_reference",
        channel=channel,
        actor=actor,
        registered_at=now,
    )
    session.add(withdrawal)
    session.flush()
    begun = begin_deletion(
        session,
        runtime,
        condition,
        reason=DeletionReason.WITHDRAWAL,
        now=now,
        withdrawal_id=withdrawal.id,
    )
    evidence_ids = _delete_remaining_consent_evidence(session, number_hash)
    evidence = len(evidence_ids)
    journal_erasure(
        runtime,
        "withdrawal_registered",
        {"withdrawals": [withdrawal.id], "consent_evidence": evidence_ids},
        at=now,
    )
    if number_hash is not None:
        # A bundle holds the consent evidence even of a caller with no recording left.
        shred_bundles_of_callers(session, runtime, [number_hash], reason=BundleDeletion.WITHDRAWAL)
    withdrawal.recordings_deleted = len(begun.recording_ids)
    record(
        session,
        actor=actor,
        action="withdrawal.register",
        object_type="withdrawal",
        object_id=str(withdrawal.id),
        source=channel,
        details={
            "by": withdrawal.by,
            "recordings": [str(i) for i in begun.recording_ids],
            "consent_evidence_deleted": begun.consent_evidence_deleted + evidence,
        },
        at=now,
    )
    if begun.recording_ids:
        ids = [str(i) for i in begun.recording_ids]
        enqueue_after_commit(session, lambda: finish_recording_deletions(ids))
    log.info("withdrawal_registered", withdrawal_id=str(withdrawal.id), channel=channel)
    return WithdrawalReceipt(reference=withdrawal.reference, registered_at=now)


def _delete_remaining_consent_evidence(
    session: Session, number_hash: str | None
) -> list[uuid.UUID]:
    """Evidence of calls that never became a recording (or not yet) goes with the consent."""
    if number_hash is None:
        return []
    gone = session.execute(
        sa.delete(ConsentEvidence)
        .where(ConsentEvidence.caller_number_hash == number_hash)
        .returning(ConsentEvidence.id)
        .execution_options(synchronize_session=False)
    ).all()
    return [row.id for row in gone]


def withdrawn_during(session: Session, number_hash: str, started_at: datetime) -> bool:
    """Whether this caller withdrew consent at or after `started_at` (ingest asks this)."""
    return (
        session.scalar(
            sa.select(Withdrawal.id)
            .where(
                Withdrawal.caller_number_hash == number_hash,
                Withdrawal.registered_at >= started_at,
            )
            .limit(1)
        )
        is not None
    )


def recent_withdrawals(session: Session, *, limit: int = 20) -> list[Withdrawal]:
    """The latest withdrawals, newest first: references and times for the desk's history (a
    withdrawal holds no number, only its keyed hash, which the history does not show)."""
    return list(
        session.scalars(
            sa.select(Withdrawal)
            .order_by(Withdrawal.registered_at.desc(), Withdrawal.id)
            .limit(limit)
        )
    )
