"""Access requests (§6): a manager asks, the DPO approves (maybe narrowed) or rejects.

A request holds the terms of a grant and checks them with the grant rules (`check_terms`);
approval creates the grant through `create_grant`, so the rules have one implementation. Each
step is audited with ids only (the justification stays in the request, out of the audit trail).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
import structlog
from sqlalchemy.orm import Session

from callvault.access.grants import GrantScope, check_terms, create_grant
from callvault.access.models import (
    AccessGrant,
    AccessRequest,
    AccessRequestState,
    ScopeKind,
    Variant,
)
from callvault.access.reasons import is_meaningful
from callvault.accounts.auth import Principal
from callvault.accounts.roles import GRANTEE_ROLES, Role
from callvault.audit.privacy import visible_text
from callvault.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from callvault.runtime import Runtime

log = structlog.get_logger(__name__)

MIN_JUSTIFICATION = 10
MAX_JUSTIFICATION = 2000


@dataclass(frozen=True)
class Terms:
    """What a request asks for, or what an approval grants: the terms of a grant."""

    purpose: str
    variant: str
    scope: GrantScope
    valid_from: datetime
    valid_until: datetime


def _audit(
    session: Session,
    principal: Principal,
    action: str,
    request: AccessRequest,
    source: str,
    **details: object,
) -> None:
    from callvault.audit.service import record

    record(
        session,
        actor=principal.actor,
        action=action,
        object_type="access_request",
        object_id=str(request.id),
        source=source,
        details={"requester": str(request.requester_id), **details},
    )


def request_terms(request: AccessRequest) -> Terms:
    return Terms(
        purpose=request.purpose_code,
        variant=request.variant,
        scope=GrantScope(
            kind=ScopeKind(request.scope_kind),
            date_from=request.scope_from,
            date_until=request.scope_until,
            agent_id=request.scope_agent_id,
            team=request.scope_team,
            recording_ids=tuple(uuid.UUID(r) for r in request.scope_recording_ids or []),
        ),
        valid_from=request.valid_from,
        valid_until=request.valid_until,
    )


def submit_request(
    session: Session,
    runtime: Runtime,
    principal: Principal,
    terms: Terms,
    *,
    justification: str,
    source: str,
) -> AccessRequest:
    """A training or QA manager asks for access on the terms of a grant, saying why."""
    if principal.kind != "account" or principal.role not in GRANTEE_ROLES:
        raise PermissionDenied("only training and quality assurance managers ask for access")
    reason = visible_text(justification)
    if not MIN_JUSTIFICATION <= len(reason) <= MAX_JUSTIFICATION or not is_meaningful(reason):
        raise InvalidInput(
            f"justify the request in {MIN_JUSTIFICATION}–{MAX_JUSTIFICATION} characters"
        )
    now = runtime.clock.now()
    registered, variant = check_terms(
        session,
        now,
        purpose=terms.purpose,
        variant=terms.variant,
        scope=terms.scope,
        valid_from=terms.valid_from,
        valid_until=terms.valid_until,
    )
    request = AccessRequest(
        requester_id=principal.id,
        purpose_code=registered.code,
        variant=variant.value,
        scope_kind=terms.scope.kind.value,
        scope_from=terms.scope.date_from,
        scope_until=terms.scope.date_until,
        scope_agent_id=terms.scope.agent_id,
        scope_team=terms.scope.team,
        scope_recording_ids=[str(r) for r in dict.fromkeys(terms.scope.recording_ids)],
        valid_from=terms.valid_from,
        valid_until=terms.valid_until,
        justification=reason,
        state=AccessRequestState.PENDING.value,
        created_at=now,
    )
    session.add(request)
    session.flush()
    _audit(
        session,
        principal,
        "access_request.create",
        request,
        source,
        purpose=request.purpose_code,
        variant=request.variant,
        scope=request.scope_kind,
        days=(terms.valid_until - terms.valid_from).days,
    )
    log.info("access_request_created", access_request_id=str(request.id))
    return request


def narrower_or_equal(asked: Terms, granted: Terms) -> bool:
    """Whether `granted` covers no more than `asked`: the same purpose, the same or the
    pseudonymised variant, a period and scope inside the asked ones."""
    if granted.purpose != asked.purpose:
        return False
    if granted.variant != asked.variant and granted.variant != Variant.PSEUDONYMISED:
        return False
    if granted.valid_from < asked.valid_from or granted.valid_until > asked.valid_until:
        return False
    a, g = asked.scope, granted.scope
    if a.kind == ScopeKind.ALL:
        return True
    if g.kind == ScopeKind.RECORDINGS and a.kind == ScopeKind.RECORDINGS:
        return set(g.recording_ids) <= set(a.recording_ids)
    if g.kind != a.kind:
        return False
    if a.kind == ScopeKind.DATE_RANGE:
        assert a.date_from and a.date_until and g.date_from and g.date_until  # noqa: S101
        return a.date_from <= g.date_from and g.date_until <= a.date_until
    return (a.agent_id, a.team) == (g.agent_id, g.team)


def _pending(session: Session, request_id: uuid.UUID) -> AccessRequest:
    request = session.get(AccessRequest, request_id, with_for_update=True)
    if request is None:
        raise NotFound("no such access request")
    if request.state != AccessRequestState.PENDING:
        raise Conflict(f"the request is already {request.state}")
    return request


def approve_request(
    session: Session,
    runtime: Runtime,
    principal: Principal,
    request_id: uuid.UUID,
    *,
    narrowed: Terms | None = None,
    allows_download: bool = False,
    note: str | None = None,
    source: str,
) -> tuple[AccessRequest, AccessGrant]:
    """The DPO approves the request as asked, or narrowed (never wider); the grant is created
    by the grant service, with every rule of §6 checked there."""
    if principal.kind != "account" or principal.role != Role.DPO:
        raise PermissionDenied("only the data protection officer decides access requests")
    request = _pending(session, request_id)
    asked = request_terms(request)
    terms = narrowed or asked
    if narrowed is not None:  # well-formed first (a date range has both dates), then compared
        narrowed.scope.check()
    if not narrower_or_equal(asked, terms):
        raise InvalidInput("an approval may narrow the request, never widen it")
    grant = create_grant(
        session,
        runtime,
        principal,
        grantee_id=request.requester_id,
        purpose=terms.purpose,
        variant=terms.variant,
        scope=terms.scope,
        valid_from=terms.valid_from,
        valid_until=terms.valid_until,
        allows_download=allows_download,
        note=note,
        source=source,
    )
    request.state = AccessRequestState.APPROVED.value
    request.decided_by = principal.id
    request.decided_at = runtime.clock.now()
    request.decision_note = (note or None) and note[:500]
    request.grant_id = grant.id
    session.flush()
    _audit(
        session,
        principal,
        "access_request.approve",
        request,
        source,
        grant=str(grant.id),
        narrowed=terms != asked,
    )
    return request, grant


def reject_request(
    session: Session,
    runtime: Runtime,
    principal: Principal,
    request_id: uuid.UUID,
    *,
    note: str | None = None,
    source: str,
) -> AccessRequest:
    """The DPO turns the request down, optionally saying why (the manager sees the note)."""
    if principal.kind != "account" or principal.role != Role.DPO:
        raise PermissionDenied("only the data protection officer decides access requests")
    request = _pending(session, request_id)
    request.state = AccessRequestState.REJECTED.value
    request.decided_by = principal.id
    request.decided_at = runtime.clock.now()
    request.decision_note = (note or "").strip()[:500] or None
    session.flush()
    _audit(session, principal, "access_request.reject", request, source)
    return request


def close_pending_of(
    session: Session, runtime: Runtime, requester_id: uuid.UUID, *, actor: str, source: str
) -> int:
    """Turn down every pending request of an account whose role changed: it was asked in the
    old role, as the grants `revoke_grants_of` ends were given in it."""
    from callvault.audit.service import record

    pending = session.scalars(
        sa.select(AccessRequest)
        .where(
            AccessRequest.requester_id == requester_id,
            AccessRequest.state == AccessRequestState.PENDING.value,
        )
        .with_for_update()
    ).all()
    now = runtime.clock.now()
    for request in pending:
        request.state = AccessRequestState.REJECTED.value
        request.decided_at = now
        record(
            session,
            actor=actor,
            action="access_request.reject",
            object_type="access_request",
            object_id=str(request.id),
            source=source,
            details={"requester": str(requester_id), "cause": "role_changed"},
        )
    session.flush()
    return len(pending)


def list_requests(
    session: Session, principal: Principal, *, state: str | None = None
) -> Sequence[AccessRequest]:
    """The DPO sees every request; a manager only their own. Pending first, newest first."""
    query = sa.select(AccessRequest).order_by(
        (AccessRequest.state != AccessRequestState.PENDING.value),
        AccessRequest.created_at.desc(),
    )
    if principal.role != Role.DPO:
        query = query.where(AccessRequest.requester_id == principal.id)
    if state is not None:
        query = query.where(AccessRequest.state == state)
    return session.scalars(query).all()


def get_request(session: Session, principal: Principal, request_id: uuid.UUID) -> AccessRequest:
    """One request, for the DPO or its requester (anyone else: not found)."""
    request = session.get(AccessRequest, request_id)
    if request is None or (principal.role != Role.DPO and request.requester_id != principal.id):
        raise NotFound("no such access request")
    return request


def pending_requests(session: Session) -> Sequence[AccessRequest]:
    """What waits for the DPO (the dashboard lists these), oldest first."""
    return session.scalars(
        sa.select(AccessRequest)
        .where(AccessRequest.state == AccessRequestState.PENDING.value)
        .order_by(AccessRequest.created_at)
    ).all()
