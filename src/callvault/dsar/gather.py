"""Finding everything stored about one data subject: a caller (by number) or an employee.

Callers are matched by the keyed hash of their number on recordings, consent evidence and
withdrawals. Refusals (pressing 2, or nothing) are stored without number or call id, so they
cannot be matched to anyone: that is said in the report rather than guessed. Deleted recordings
are matched through the caller's withdrawals (their receipts); recordings deleted by retention
no longer hold the number, and nothing of them is left to give.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from callvault.accounts.models import Account, ServiceAccount
from callvault.audit.models import AuditEntry
from callvault.consent.models import ConsentEvidence
from callvault.dsar.models import DataSubjectRequest, SubjectKind
from callvault.recordings.models import Recording, RecordingState
from callvault.retention.models import DeletionReceipt
from callvault.withdrawal.models import Withdrawal

READABLE_STATES = (RecordingState.INGESTED, RecordingState.PROCESSING, RecordingState.READY)


@dataclass
class SubjectData:
    """What a request found. Audit entries are kept whole here; the bundle decides what to show."""

    request: DataSubjectRequest
    recordings: list[Recording] = field(default_factory=list)
    consent_evidence: list[ConsentEvidence] = field(default_factory=list)
    withdrawals: list[Withdrawal] = field(default_factory=list)
    deletions: list[DeletionReceipt] = field(default_factory=list)
    access_log: list[AuditEntry] = field(default_factory=list)
    own_activity: list[AuditEntry] = field(default_factory=list)
    account: Account | None = None
    roles: dict[str, str] = field(default_factory=dict)
    # quality assurance: evaluations about an employee (as agent) and written by them
    evaluations: list[dict[str, Any]] = field(default_factory=list)
    evaluations_written: list[dict[str, Any]] = field(default_factory=list)
    # the byte ranges of each listen, by the seq of its `recording.play` entry
    play_ranges: dict[int, list[list[int]]] = field(default_factory=dict)
    # training clips cut from these recordings (training/): with audio for the caller only
    clips: list[Any] = field(default_factory=list)

    @property
    def is_caller(self) -> bool:
        return self.request.subject_kind == SubjectKind.CALLER


def gather(session: Session, request: DataSubjectRequest) -> SubjectData:
    """Everything concerning the request's subject, read in the caller's transaction."""
    data = SubjectData(request=request)
    if request.subject_kind == SubjectKind.CALLER:
        _gather_caller(session, data)
    else:
        _gather_employee(session, data)
    from callvault.training.rights import clips_of_recordings

    data.clips = clips_of_recordings(session, [r.id for r in data.recordings])
    data.roles = _roles_of(session, {e.actor for e in data.access_log})
    from callvault.access.plays import ranges_by_entry

    data.play_ranges = ranges_by_entry(
        session, [e.seq for e in data.access_log if e.action == "recording.play"]
    )
    return data


def _gather_caller(session: Session, data: SubjectData) -> None:
    number_hash = data.request.subject_number_hash
    if number_hash is None:
        return
    data.recordings = list(
        session.scalars(
            sa.select(Recording)
            .where(
                Recording.caller_number_hash == number_hash,
                Recording.state.in_([s.value for s in READABLE_STATES]),
            )
            .order_by(Recording.started_at, Recording.id)
        )
    )
    evidence_ids = {r.consent_evidence_id for r in data.recordings if r.consent_evidence_id}
    call_ids = {r.call_id for r in data.recordings}
    data.consent_evidence = list(
        session.scalars(
            sa.select(ConsentEvidence)
            .where(
                sa.or_(
                    ConsentEvidence.caller_number_hash == number_hash,
                    ConsentEvidence.id.in_(evidence_ids),
                    ConsentEvidence.call_id.in_(call_ids),
                )
            )
            .order_by(ConsentEvidence.given_at, ConsentEvidence.id)
        )
    )
    data.withdrawals = list(
        session.scalars(
            sa.select(Withdrawal)
            .where(Withdrawal.caller_number_hash == number_hash)
            .order_by(Withdrawal.registered_at, Withdrawal.id)
        )
    )
    withdrawal_ids = [w.id for w in data.withdrawals]
    if withdrawal_ids:
        data.deletions = list(
            session.scalars(
                sa.select(DeletionReceipt)
                .where(DeletionReceipt.withdrawal_id.in_(withdrawal_ids))
                .order_by(DeletionReceipt.started_at, DeletionReceipt.id)
            )
        )
    objects = [("recording", str(r.id)) for r in data.recordings]
    objects += [("recording", str(d.recording_id)) for d in data.deletions]
    objects += [("withdrawal", str(w.id)) for w in data.withdrawals]
    objects += [("consent_evidence", str(e.id)) for e in data.consent_evidence]
    data.access_log = _entries_about(session, objects)


def _gather_employee(session: Session, data: SubjectData) -> None:
    account_id = data.request.subject_account_id
    if account_id is None:
        return
    data.account = session.get(Account, account_id)
    # Ingest names the agent by an id the integration chooses: the account id or its e-mail.
    agent_ids = [str(account_id)] + ([data.account.email] if data.account else [])
    data.recordings = list(
        session.scalars(
            sa.select(Recording)
            .where(
                Recording.agent_id.in_(agent_ids),
                Recording.state.in_([s.value for s in READABLE_STATES]),
            )
            .order_by(Recording.started_at, Recording.id)
        )
    )
    from callvault.quality import dsar as quality

    data.evaluations = quality.evaluations_about(session, agent_ids)
    data.evaluations_written = quality.evaluations_written(session, account_id)
    data.access_log = _entries_about(session, [("account", str(account_id))])
    data.own_activity = list(
        session.scalars(
            sa.select(AuditEntry)
            .where(AuditEntry.actor == f"account:{account_id}")
            .order_by(AuditEntry.seq)
        )
    )


def _entries_about(session: Session, objects: list[tuple[str, str]]) -> list[AuditEntry]:
    if not objects:
        return []
    by_type: dict[str, list[str]] = {}
    for object_type, object_id in objects:
        by_type.setdefault(object_type, []).append(object_id)
    conditions = [
        sa.and_(AuditEntry.object_type == t, AuditEntry.object_id.in_(ids))
        for t, ids in by_type.items()
    ]
    return list(
        session.scalars(sa.select(AuditEntry).where(sa.or_(*conditions)).order_by(AuditEntry.seq))
    )


def _roles_of(session: Session, actors: set[str]) -> dict[str, str]:
    """The role behind each actor: who had access is shown by role, not by name (Art. 15(4))."""
    roles: dict[str, str] = {}
    account_ids: dict[uuid.UUID, str] = {}
    service_ids: dict[uuid.UUID, str] = {}
    for actor in actors:
        kind, _, raw = actor.partition(":")
        try:
            ident = uuid.UUID(raw)
        except ValueError:
            roles[actor] = kind or "system"
            continue
        (account_ids if kind == "account" else service_ids)[ident] = actor
    if account_ids:
        for ident, role in session.execute(
            sa.select(Account.id, Account.role).where(Account.id.in_(list(account_ids)))
        ):
            roles[account_ids[ident]] = role
    if service_ids:
        for ident, scope in session.execute(
            sa.select(ServiceAccount.id, ServiceAccount.scope).where(
                ServiceAccount.id.in_(list(service_ids))
            )
        ):
            roles[service_ids[ident]] = f"service:{scope}"
    for actor in actors:
        roles.setdefault(actor, "unknown")
    return roles
