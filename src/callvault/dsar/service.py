"""Access requests (§6, GDPR Art. 12(3), 15): open, build the bundle, deliver, close, purge.

Deadline: one month from receipt (Art. 12(3)); the dashboard warns a week before. The bundle is
stored encrypted in the vault (kind "dsar_bundle", owner = the request id). It holds copies of
the subject's recordings, so it never outlives them or the request: its keys are shredded when
the request is closed, when the subject's recordings are erased (withdrawal or retention), 30
days after delivery, and 30 days after building if it is never delivered.
"""

from __future__ import annotations

import calendar
import enum
import hashlib
import secrets
import tempfile
import uuid
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import sqlalchemy as sa
import structlog
from sqlalchemy.orm import Session

from callvault.accounts.models import Account
from callvault.db import transaction
from callvault.dsar.bundle import write_bundle
from callvault.dsar.gather import gather
from callvault.dsar.models import DataSubjectRequest, DsarStatus, SubjectKind
from callvault.errors import Conflict, InvalidInput, NotFound
from callvault.phone import normalise_e164
from callvault.runtime import Runtime

if TYPE_CHECKING:
    from callvault.vault.service import ArtifactReader

log = structlog.get_logger(__name__)

BUNDLE_KIND = "dsar_bundle"
DUE_SOON = timedelta(days=7)
KEEP_DELIVERED = timedelta(days=30)
KEEP_UNDELIVERED = timedelta(days=30)  # from building, for a bundle never delivered
LANGUAGES = ("sv", "en")
ACTIVE = (DsarStatus.OPEN.value, DsarStatus.IN_PROGRESS.value)
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_SPOOL = 16 * 1024 * 1024


def one_month_after(at: datetime) -> datetime:
    """The same date next month, or that month's last day if it has no such date."""
    year, month = (at.year + 1, 1) if at.month == 12 else (at.year, at.month + 1)
    day = min(at.day, calendar.monthrange(year, month)[1])
    return at.replace(year=year, month=month, day=day)


def _reference() -> str:
    chars = "".join(secrets.choice(_ALPHABET) for _ in range(8))
    return f"D-{chars[:4]}-{chars[4:]}"


def _audit(
    session: Session,
    runtime: Runtime,
    request: DataSubjectRequest,
    action: str,
    actor: str,
    source: str,
    **details: object,
) -> None:
    from callvault.audit.service import record

    record(
        session,
        actor=actor,
        action=action,
        object_type="dsar",
        object_id=str(request.id),
        source=source,
        details={"subject_kind": request.subject_kind, **details},
        at=runtime.clock.now(),
    )


def open_request(
    session: Session,
    runtime: Runtime,
    *,
    number: str | None = None,
    account_id: uuid.UUID | None = None,
    language: str = "sv",
    actor: str,
    source: str,
    received_at: datetime | None = None,
) -> DataSubjectRequest:
    """Open a request for a caller (by number, any usual form) or an employee (by account)."""
    from callvault.vault.fields import phone_lookup_hash

    if (number is None) == (account_id is None):
        raise InvalidInput("give either the caller's number or the employee's account")
    if language not in LANGUAGES:
        raise InvalidInput("language must be 'sv' or 'en'")
    now = runtime.clock.now()
    received = received_at or now
    if received > now:
        raise InvalidInput("a request cannot be received in the future")
    if account_id is not None and session.get(Account, account_id) is None:
        raise NotFound("no such account")
    request = DataSubjectRequest(
        reference=_reference(),
        subject_kind=(SubjectKind.CALLER if number is not None else SubjectKind.EMPLOYEE).value,
        subject_number_hash=(
            phone_lookup_hash(runtime.keyring, normalise_e164(number)) if number else None
        ),
        subject_account_id=account_id,
        language=language,
        status=DsarStatus.OPEN.value,
        received_at=received,
        deadline_at=one_month_after(received),
        opened_by=actor,
        bundle_blobs_pending=[],
    )
    session.add(request)
    session.flush()
    _audit(session, runtime, request, "dsar.open", actor, source)
    log.info("dsar_opened", dsar_id=str(request.id), subject_kind=request.subject_kind)
    return request


def get_request(session: Session, request_id: uuid.UUID) -> DataSubjectRequest:
    request = session.get(DataSubjectRequest, request_id)
    if request is None:
        raise NotFound("no such request")
    return request


def list_requests(session: Session, *, status: str | None = None) -> list[DataSubjectRequest]:
    query = sa.select(DataSubjectRequest).order_by(
        DataSubjectRequest.deadline_at, DataSubjectRequest.id
    )
    if status is not None:
        query = query.where(DataSubjectRequest.status == status)
    return list(session.scalars(query))


def due_soon(session: Session, now: datetime) -> list[DataSubjectRequest]:
    """Unanswered requests whose deadline is within a week (or past): the dashboard's warning."""
    return list(
        session.scalars(
            sa.select(DataSubjectRequest)
            .where(
                DataSubjectRequest.status.in_(ACTIVE),
                DataSubjectRequest.deadline_at <= now + DUE_SOON,
            )
            .order_by(DataSubjectRequest.deadline_at, DataSubjectRequest.id)
        )
    )


def is_due_soon(request: DataSubjectRequest, now: datetime) -> bool:
    return request.status in ACTIVE and request.deadline_at <= now + DUE_SOON


@dataclass(frozen=True)
class BuiltBundle:
    request_id: uuid.UUID
    sha256: str
    size: int
    files: int


def build_bundle(
    session: Session, runtime: Runtime, request_id: uuid.UUID, *, actor: str, source: str
) -> BuiltBundle:
    """Gather everything about the subject and store the ZIP encrypted in the vault.

    Safe to run again: a rebuild replaces the earlier bundle (its blob goes after commit).
    """
    from callvault.vault.service import store_artifact

    request = get_request(session, request_id)
    if request.status not in ACTIVE:
        raise Conflict("the request is already delivered or closed")
    now = runtime.clock.now()
    data = gather(session, request)
    with tempfile.SpooledTemporaryFile(max_size=_SPOOL) as spool:
        manifest = write_bundle(session, runtime, data, spool, now=now)
        size = spool.tell()
        spool.seek(0)
        digest = hashlib.sha256()

        def chunks() -> Iterator[bytes]:
            while block := spool.read(1024 * 1024):
                digest.update(block)
                yield block

        store_artifact(session, runtime, request.id, BUNDLE_KIND, chunks(), "application/zip")
    request.status = DsarStatus.IN_PROGRESS.value
    request.built_at = now
    request.bundle_deleted_at = None  # a rebuild after a shredding holds only what is left
    request.bundle_sha256 = digest.hexdigest()
    request.bundle_size = size
    _audit(
        session,
        runtime,
        request,
        "dsar.export",
        actor,
        source,
        recordings=[str(r.id) for r in data.recordings] if data.is_caller else [],
        files=len(manifest),
    )
    log.info("dsar_bundle_built", dsar_id=str(request.id), files=len(manifest), size=size)
    return BuiltBundle(request.id, request.bundle_sha256, size, len(manifest))


def open_bundle(
    session: Session, runtime: Runtime, request_id: uuid.UUID, *, actor: str, source: str
) -> ArtifactReader:
    """A reader of the decrypted bundle (for download); audited. NotFound once purged."""
    from callvault.vault.service import open_artifact

    request = get_request(session, request_id)
    if request.bundle_deleted_at is not None or request.built_at is None:
        raise NotFound("no bundle for this request")
    reader = open_artifact(session, runtime, request.id, BUNDLE_KIND)
    _audit(session, runtime, request, "dsar.download", actor, source)
    return reader


def deliver(
    session: Session, runtime: Runtime, request_id: uuid.UUID, *, actor: str, source: str
) -> DataSubjectRequest:
    """Record that the bundle reached the subject; it is kept 30 more days, then shredded."""
    request = get_request(session, request_id)
    if request.status == DsarStatus.DELIVERED:
        return request
    if request.status != DsarStatus.IN_PROGRESS or request.built_at is None:
        raise Conflict("build the bundle before delivering it")
    if request.bundle_deleted_at is not None:
        raise Conflict("the bundle was deleted; build it again before delivering it")
    request.status = DsarStatus.DELIVERED.value
    request.delivered_at = runtime.clock.now()
    _audit(session, runtime, request, "dsar.deliver", actor, source)
    return request


def close(
    session: Session, runtime: Runtime, request_id: uuid.UUID, *, actor: str, source: str
) -> DataSubjectRequest:
    """Close the request (answered, or withdrawn by the subject). Closing twice is harmless.

    The bundle's keys are shredded in the same transaction: a closed request keeps nothing of
    the subject. Its blob goes once this commits (and the hourly purge finishes any left).
    """
    request = get_request(session, request_id)
    if request.status == DsarStatus.CLOSED:
        return request
    request.status = DsarStatus.CLOSED.value
    request.closed_at = runtime.clock.now()
    _audit(session, runtime, request, "dsar.close", actor, source)
    shred_bundle(session, runtime, request, reason=BundleDeletion.CLOSED)
    return request


class BundleDeletion(enum.StrEnum):
    """Why a bundle was shredded (the audit entry says which)."""

    CLOSED = "closed"
    DELIVERED = "delivered_30_days"
    UNDELIVERED = "undelivered_30_days"
    WITHDRAWAL = "withdrawal"
    RETENTION = "retention"


def has_live_bundle(request: DataSubjectRequest) -> bool:
    return request.built_at is not None and request.bundle_deleted_at is None


def shred_bundle(
    session: Session,
    runtime: Runtime,
    request: DataSubjectRequest,
    *,
    reason: BundleDeletion,
    actor: str = "system",
    source: str = "worker",
) -> bool:
    """Destroy the bundle's data key in the caller's transaction; False if there was none.

    Once this commits the bundle cannot be decrypted. Its blob names are kept on the request
    and deleted after the commit (`delete_shredded_bundle_blobs`, queued here and hourly).
    """
    from callvault.vault.service import shred_owner_keys
    from callvault.worker.queue import enqueue_after_commit

    if not has_live_bundle(request):
        return False
    names = shred_owner_keys(session, request.id)
    request.bundle_blobs_pending = sorted(set(request.bundle_blobs_pending or []) | set(names))
    request.bundle_deleted_at = runtime.clock.now()
    _audit(session, runtime, request, "dsar.bundle_delete", actor, source, reason=reason.value)
    log.info("dsar_bundle_shredded", dsar_id=str(request.id), reason=reason.value)

    def _queue() -> None:
        from callvault.dsar.tasks import delete_dsar_bundle_blobs

        delete_dsar_bundle_blobs()

    enqueue_after_commit(session, _queue)
    return True


def shred_bundles_of_callers(
    session: Session,
    runtime: Runtime,
    number_hashes: Collection[str],
    *,
    reason: BundleDeletion,
) -> int:
    """Shred every live bundle of these callers (their recordings are being erased, and a
    bundle holds copies of them), whatever the state of the request; returns how many."""
    hashes = sorted({h for h in number_hashes if h})
    if not hashes:
        return 0
    requests = session.scalars(
        sa.select(DataSubjectRequest).where(
            DataSubjectRequest.subject_number_hash.in_(hashes),
            DataSubjectRequest.built_at.is_not(None),
            DataSubjectRequest.bundle_deleted_at.is_(None),
        )
    ).all()
    return sum(shred_bundle(session, runtime, r, reason=reason) for r in requests)


def _expired_bundles(
    session: Session, now: datetime
) -> list[tuple[DataSubjectRequest, BundleDeletion]]:
    """Live bundles past their time, with the reason: delivered 30 days ago, built 30 days ago
    and never delivered, of a closed request (a close that crashed before its shredding), or
    built before a withdrawal of the subject took effect (a build racing the withdrawal)."""
    from callvault.withdrawal.models import Withdrawal

    live = sa.and_(
        DataSubjectRequest.built_at.is_not(None), DataSubjectRequest.bundle_deleted_at.is_(None)
    )
    withdrawn = sa.exists().where(
        Withdrawal.caller_number_hash == DataSubjectRequest.subject_number_hash,
        Withdrawal.registered_at >= DataSubjectRequest.built_at,
    )
    rules: list[tuple[sa.ColumnElement[bool], BundleDeletion]] = [
        (DataSubjectRequest.status == DsarStatus.CLOSED.value, BundleDeletion.CLOSED),
        (withdrawn, BundleDeletion.WITHDRAWAL),
        (DataSubjectRequest.delivered_at <= now - KEEP_DELIVERED, BundleDeletion.DELIVERED),
        (
            sa.and_(
                DataSubjectRequest.delivered_at.is_(None),
                DataSubjectRequest.built_at <= now - KEEP_UNDELIVERED,
            ),
            BundleDeletion.UNDELIVERED,
        ),
    ]
    found: dict[uuid.UUID, tuple[DataSubjectRequest, BundleDeletion]] = {}
    for condition, reason in rules:
        for request in session.scalars(sa.select(DataSubjectRequest).where(live, condition)):
            found.setdefault(request.id, (request, reason))
    return list(found.values())


def purge_expired_bundles(runtime: Runtime) -> int:
    """Shred every bundle past its time (see `_expired_bundles`), then delete shredded blobs.

    Keys go and the blob names are kept on the request in one transaction; the blobs are
    deleted after it commits, and a crash in between is finished by the next run.
    """
    now = runtime.clock.now()
    with transaction(runtime.sessions) as session:
        expired = _expired_bundles(session, now)
        for request, reason in expired:
            shred_bundle(session, runtime, request, reason=reason)
    delete_shredded_bundle_blobs(runtime)
    if expired:
        log.info("dsar_bundles_purged", count=len(expired))
    return len(expired)


def delete_shredded_bundle_blobs(runtime: Runtime) -> int:
    """Delete the blobs of bundles whose keys are already shredded (idempotent)."""
    from callvault.vault.service import delete_blobs

    deleted = 0
    with transaction(runtime.sessions) as session:
        # A handful of requests a month: filtering the JSON list in Python is fine.
        purged = session.scalars(
            sa.select(DataSubjectRequest).where(DataSubjectRequest.bundle_deleted_at.is_not(None))
        )
        for request in [r for r in purged if r.bundle_blobs_pending]:
            deleted += delete_blobs(runtime, request.bundle_blobs_pending)
            request.bundle_blobs_pending = []
    return deleted
