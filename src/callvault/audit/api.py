"""`/api/v1/audit`: the audit trail for the DPO and IT administrators, read-only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel

from callvault.accounts.auth import Principal, client_address, require_roles
from callvault.accounts.roles import Role
from callvault.audit.chain import canonical_time
from callvault.audit.models import AuditEntry
from callvault.audit.queries import MAX_LIMIT, refusals_by_actor_and_day, search
from callvault.audit.service import record, record_isolated
from callvault.audit.signing import CheckpointVerifier, load_verifier
from callvault.audit.verify import verification_connection, verify_chain
from callvault.deps import RuntimeDep, SessionDep
from callvault.errors import KeyringError
from callvault.inputs import MAX_BIGINT, Instant

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])

AuditReader = Annotated[Principal, Depends(require_roles(Role.DPO, Role.IT_ADMIN))]


def entry_json(entry: AuditEntry) -> dict[str, Any]:
    return {
        "seq": entry.seq,
        "at": canonical_time(entry.at),
        "actor": entry.actor,
        "action": entry.action,
        "object_type": entry.object_type,
        "object_id": entry.object_id,
        "reason": entry.reason,
        "source": entry.source,
        "outcome": entry.outcome,
        "details": entry.details,
        "prev_hash": entry.prev_hash,
        "hash": entry.hash,
    }


class AuditPage(BaseModel):
    entries: list[dict[str, Any]]
    next_before_seq: int | None


class RefusalRow(BaseModel):
    actor: str
    day: str
    count: int


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@router.get("", response_model=AuditPage)
def list_entries(
    request: Request,
    principal: AuditReader,
    session: SessionDep,
    actor: str | None = Query(None, min_length=1, max_length=200),
    action: str | None = Query(
        None, min_length=1, max_length=200, description="exact, or a family like recording.*"
    ),
    object_type: str | None = Query(None, min_length=1, max_length=200),
    object_id: str | None = Query(None, min_length=1, max_length=200),
    outcome: str | None = Query(None, pattern="^(ok|refused|error)$"),
    since: Instant | None = None,
    until: Instant | None = None,
    limit: int = Query(50, ge=1, le=MAX_LIMIT),
    before_seq: int | None = Query(None, ge=1, le=MAX_BIGINT),
) -> AuditPage:
    """Entries newest first; follow `next_before_seq` for the next page."""
    entries = search(
        session,
        actor=actor,
        action=action,
        object_type=object_type,
        object_id=object_id,
        outcome=outcome,
        since=_utc(since),
        until=_utc(until),
        limit=limit,
        before_seq=before_seq,
    )
    filters = sorted(k for k, v in request.query_params.items() if v)
    record(
        session,
        actor=principal.actor,
        action="audit.read",
        source=client_address(request),
        details={"filters": filters, "returned": len(entries)},
    )
    return AuditPage(
        entries=[entry_json(e) for e in entries],
        next_before_seq=entries[-1].seq if len(entries) == limit else None,
    )


@router.get("/refusals", response_model=list[RefusalRow])
def refusals(
    request: Request,
    principal: AuditReader,
    session: SessionDep,
    runtime: RuntimeDep,
    since: Instant | None = None,
    until: Instant | None = None,
) -> list[RefusalRow]:
    """Refused attempts per user and UTC day (default: the last 30 days)."""
    end = _utc(until) or runtime.clock.now() + timedelta(seconds=1)
    start = _utc(since) or end - timedelta(days=30)
    rows = refusals_by_actor_and_day(session, start, end)
    record(
        session,
        actor=principal.actor,
        action="audit.read",
        source=client_address(request),
        details={"view": "refusals", "returned": len(rows)},
    )
    return [RefusalRow(actor=r.actor, day=r.day.isoformat(), count=r.count) for r in rows]


@router.get("/verify")
def verify(request: Request, principal: AuditReader, runtime: RuntimeDep) -> dict[str, object]:
    """Check the whole chain and every checkpoint now (seconds for a million entries)."""
    verifier: CheckpointVerifier | None
    try:
        verifier = load_verifier(runtime.settings.resolved_audit_signing_key)
    except KeyringError:
        verifier = None
    with verification_connection(runtime) as connection:
        # One process: forking inside a threaded server is not safe.
        report = verify_chain(connection, verifier)
    result = report.as_dict()
    record_isolated(
        runtime,
        actor=principal.actor,
        action="audit.verify",
        source=client_address(request),
        outcome="ok" if report.ok else "error",
        details={"entries": report.entries, "first_bad_seq": report.first_bad_seq},
    )
    return result
