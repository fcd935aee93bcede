"""Access to recordings (§6, §8): deny by default, every read through an active grant, a stated
reason for every playback, download and transcript, and every refusal in the audit trail."""

from __future__ import annotations

import base64
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

import sqlalchemy as sa
import structlog
from sqlalchemy.orm import Session, lazyload
from sqlalchemy.sql.elements import ColumnElement

from callvault.access.grants import active_grants, registered_variants
from callvault.access.models import AccessGrant, AccessGrantRecording, ScopeKind, Variant
from callvault.access.reasons import RULE as REASON_RULE
from callvault.access.reasons import is_meaningful, normalise_reason
from callvault.accounts.auth import Principal
from callvault.errors import InvalidInput, NotFound, PermissionDenied
from callvault.recordings.models import Recording, RecordingPurpose, RecordingState
from callvault.runtime import Runtime

log = structlog.get_logger(__name__)

MAX_PAGE = 100
DEFAULT_PAGE = 50
HIDDEN_STATES = (RecordingState.DELETING.value, RecordingState.DELETED.value)
READ_ACTIONS = frozenset(
    {"recording.view", "recording.play", "recording.download", "recording.transcript"}
)
NEEDS_REASON = frozenset({"recording.play", "recording.download", "recording.transcript"})
NOT_FOUND = "no such recording"
MAX_MASKED_GRANTS = 62  # grants tagged by bit in a BIGINT; beyond that one more query per page


@dataclass(frozen=True)
class RecordingFilters:
    started_from: datetime | None = None
    started_until: datetime | None = None
    agent_id: str | None = None
    team: str | None = None
    purpose: str | None = None


@dataclass(frozen=True)
class PageRequest:
    limit: int = DEFAULT_PAGE
    cursor: str | None = None


@dataclass(frozen=True)
class AccessMode:
    """One way the principal may use a recording, from one grant."""

    grant_id: uuid.UUID
    purpose: str
    variant: str
    allows_download: bool
    valid_until: datetime


@dataclass(frozen=True)
class VisibleRecording:
    recording: Recording
    modes: tuple[AccessMode, ...]

    @property
    def original_allowed(self) -> bool:
        return any(m.variant == Variant.ORIGINAL for m in self.modes)


@dataclass(frozen=True)
class Page:
    items: list[VisibleRecording]
    next_cursor: str | None = None
    limit: int = DEFAULT_PAGE
    extra: dict[str, object] = field(default_factory=dict)


# --- what a grant covers ------------------------------------------------------------------------


def covers(grant: AccessGrant) -> ColumnElement[bool]:
    """SQL: the recordings this grant covers (scope and purpose), whatever their state."""
    purpose = sa.exists().where(
        RecordingPurpose.recording_id == Recording.id,
        RecordingPurpose.purpose_code == grant.purpose_code,
    )
    kind = ScopeKind(grant.scope_kind)
    scope: ColumnElement[bool]
    if kind == ScopeKind.ALL:
        scope = sa.true()
    elif kind == ScopeKind.DATE_RANGE:
        scope = sa.and_(
            Recording.started_at >= grant.scope_from, Recording.started_at < grant.scope_until
        )
    elif kind == ScopeKind.AGENT:
        scope = Recording.agent_id == grant.scope_agent_id
    elif kind == ScopeKind.TEAM:
        scope = Recording.team == grant.scope_team
    else:
        scope = Recording.id.in_(
            sa.select(AccessGrantRecording.recording_id).where(
                AccessGrantRecording.grant_id == grant.id
            )
        )
    return sa.and_(scope, purpose)


def _readable(now: datetime) -> ColumnElement[bool]:
    return sa.and_(Recording.state.not_in(HIDDEN_STATES), Recording.expires_at > now)


def _filters(filters: RecordingFilters) -> list[ColumnElement[bool]]:
    clauses: list[ColumnElement[bool]] = []
    if filters.started_from is not None:
        clauses.append(Recording.started_at >= filters.started_from)
    if filters.started_until is not None:
        clauses.append(Recording.started_at < filters.started_until)
    if filters.agent_id:
        clauses.append(Recording.agent_id == filters.agent_id)
    if filters.team:
        clauses.append(Recording.team == filters.team)
    return clauses


def encode_cursor(started_at: datetime, recording_id: uuid.UUID) -> str:
    raw = f"{started_at.isoformat()}|{recording_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        at, rid = raw.split("|", 1)
        parsed = datetime.fromisoformat(at)
        if parsed.tzinfo is None:
            raise ValueError
        return parsed, uuid.UUID(rid)
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput("that cursor is not valid") from None


# --- listing ----------------------------------------------------------------------------------


def agent_filter_allowed(grants: Sequence[AccessGrant]) -> bool:
    """Filtering by agent tells which agent handled each call, which only the original shows:
    allowed only when every grant in play allows the original."""
    return all(g.variant == Variant.ORIGINAL for g in grants)


def _refuse_agent_filter(runtime: Runtime | None, principal: Principal, source: str | None) -> None:
    from callvault.runtime import get_runtime

    refuse_access(
        runtime or get_runtime(),
        principal,
        object_id=None,
        action="recording.list",
        why="agent_filter",
        source=source,
    )
    raise PermissionDenied("filtering by agent needs grants that all allow the original variant")


def visible_recordings(
    session: Session,
    principal: Principal,
    *,
    filters: RecordingFilters | None = None,
    page: PageRequest | None = None,
    now: datetime | None = None,
    audit_source: str | None = None,
    runtime: Runtime | None = None,
) -> Page:
    """The recordings the principal's active grants cover, newest first, one page at a time.

    With `audit_source` (the client address; every person-facing listing passes it) a page
    that shows anything is written to the audit trail as `recording.list`.

    Keyset pagination on (started_at, id). The query is a UNION ALL with one branch per grant,
    each walking an index newest-first and stopping after a page, so the cost is bounded by the
    number of grants times the page size whatever the size of the table.
    """
    filters = filters or RecordingFilters()
    page = page or PageRequest()
    if now is None:
        from callvault.runtime import get_runtime

        now = get_runtime().clock.now()
    limit = max(1, min(page.limit, MAX_PAGE))
    grants = active_grants(session, principal, now)
    if filters.purpose:
        grants = [g for g in grants if g.purpose_code == filters.purpose]
    if filters.agent_id and not agent_filter_allowed(grants):
        _refuse_agent_filter(runtime, principal, audit_source)
    if not grants:
        return Page(items=[], next_cursor=None, limit=limit)
    base = [_readable(now), *_filters(filters)]
    if page.cursor:
        at, rid = decode_cursor(page.cursor)
        base.append(sa.tuple_(Recording.started_at, Recording.id) < sa.tuple_(at, rid))
    # One branch per grant: the grant's newest `limit + 1` recordings, each row tagged with the
    # grant's bit. A recording among the overall newest `limit + 1` is also among the newest
    # `limit + 1` of every grant that covers it, so the summed bits name all its grants.
    masked = len(grants) <= MAX_MASKED_GRANTS
    branches = []
    for position, grant in enumerate(grants):
        bit = 1 << position if masked else 0
        inner = (
            sa.select(
                Recording.id.label("id"),
                Recording.started_at.label("started_at"),
                sa.literal(bit, sa.BigInteger).label("bit"),
            )
            .where(*base, covers(grant))
            .order_by(Recording.started_at.desc(), Recording.id.desc())
            .limit(limit + 1)
            .subquery()
        )
        branches.append(sa.select(inner.c.id, inner.c.started_at, inner.c.bit))
    union = sa.union_all(*branches).subquery() if len(branches) > 1 else branches[0].subquery()
    top = (
        sa.select(union.c.id, union.c.started_at, sa.func.sum(union.c.bit).label("mask"))
        .group_by(union.c.id, union.c.started_at)
        .order_by(union.c.started_at.desc(), union.c.id.desc())
        .limit(limit + 1)
        .subquery()
    )
    rows = session.execute(
        sa.select(Recording, top.c.mask)
        .join(top, Recording.id == top.c.id)
        .options(lazyload(Recording.purposes))
        .order_by(top.c.started_at.desc(), top.c.id.desc())
    ).all()
    more = len(rows) > limit
    rows = rows[:limit]
    if masked:
        items = [
            VisibleRecording(
                recording,
                tuple(_mode(g) for n, g in enumerate(grants) if int(mask) >> n & 1),
            )
            for recording, mask in rows
        ]
    else:  # very many grants: ask which cover the page, one flag per grant
        items = with_access_modes(session, [recording.id for recording, _ in rows], grants)
    next_cursor = None
    if more and items:
        last = items[-1].recording
        next_cursor = encode_cursor(last.started_at, last.id)
    if audit_source is not None and items:
        from callvault.audit.service import record

        record(
            session,
            actor=principal.actor,
            action="recording.list",
            source=audit_source,
            details={"count": len(items)},
        )
    return Page(items=items, next_cursor=next_cursor, limit=limit)


def _mode(grant: AccessGrant) -> AccessMode:
    return AccessMode(
        grant.id, grant.purpose_code, grant.variant, grant.allows_download, grant.valid_until
    )


def _load(session: Session, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Recording]:
    if not ids:
        return {}
    found = session.scalars(
        sa.select(Recording).where(Recording.id.in_(ids)).options(lazyload(Recording.purposes))
    )
    return {r.id: r for r in found}


def with_access_modes(
    session: Session, ids: Sequence[uuid.UUID], grants: Sequence[AccessGrant]
) -> list[VisibleRecording]:
    """These recordings with the ways `grants` let the principal use them (uncovered ones left
    out). For a handful of ids; the listing gets the same from its own query."""
    if not ids or not grants:
        return []
    flags = [covers(g).label(f"g{n}") for n, g in enumerate(grants)]
    rows = session.execute(sa.select(Recording.id, *flags).where(Recording.id.in_(ids))).all()
    modes = {
        row[0]: tuple(_mode(g) for g, flag in zip(grants, row[1:], strict=True) if flag)
        for row in rows
    }
    recordings = _load(session, [rid for rid in ids if modes.get(rid)])
    return [VisibleRecording(recordings[rid], modes[rid]) for rid in ids if rid in recordings]


# --- one recording --------------------------------------------------------------------------


def authorize(
    session: Session,
    runtime: Runtime,
    principal: Principal,
    recording_id: uuid.UUID | str,
    *,
    variant: str | None,
    purpose: str | None,
    reason: str | None,
    action: str,
    source: str | None = None,
    record_access: bool = True,
) -> AccessGrant:
    """The active grant that allows this use of this recording, audited; otherwise a refusal.

    Unknown and forbidden recordings both raise the same NotFound. Every refusal is written to
    the audit trail in its own transaction (the request's rolls back). On success the access and
    its reason are written in the caller's transaction, unless `record_access` is False: a play
    is audited once per listen by `access.plays.record_play`.
    """
    if action not in READ_ACTIONS:
        raise ValueError(f"unknown access action {action}")
    now = runtime.clock.now()
    rid = _parse_id(recording_id)
    object_id = str(rid) if rid else None

    def refuse(why: str, error: Exception) -> Exception:
        refuse_access(
            runtime,
            principal,
            object_id=object_id,
            action=action,
            why=why,
            source=source,
            purpose=purpose,
            variant=variant,
        )
        return error

    if variant is not None and variant not in (Variant.PSEUDONYMISED, Variant.ORIGINAL):
        raise refuse("variant", InvalidInput("the variant is pseudonymised or original"))
    text = normalise_reason(reason)
    if action in NEEDS_REASON:
        if not purpose or purpose not in registered_variants(session, now):
            raise refuse("purpose", InvalidInput("state a purpose registered in the policy"))
        if not is_meaningful(text):
            raise refuse("reason", InvalidInput(REASON_RULE))
        if variant is None:
            raise refuse("variant", InvalidInput("choose the variant: pseudonymised or original"))
    if rid is None:
        raise refuse("unknown", NotFound(NOT_FOUND))
    candidates = [
        g
        for g in active_grants(session, principal, now)
        if (purpose is None or g.purpose_code == purpose)
        and (variant is None or g.variant == variant)
    ]
    flags = [covers(g).label(f"g{n}") for n, g in enumerate(candidates)]
    row = session.execute(
        sa.select(Recording.id, *flags).where(Recording.id == rid, _readable(now))
    ).first()
    if row is None:
        raise refuse("unknown", NotFound(NOT_FOUND))
    covering = [g for g, flag in zip(candidates, row[1:], strict=True) if flag]
    if not covering:
        raise refuse("no_grant", NotFound(NOT_FOUND))
    if action == "recording.download":
        downloadable = [g for g in covering if g.allows_download]
        if not downloadable:
            raise refuse("download", PermissionDenied("your grant does not allow downloads"))
        covering = downloadable
    grant = covering[0]
    if not record_access:
        return grant
    from callvault.audit.service import record

    record(
        session,
        actor=principal.actor,
        action=action,
        object_type="recording",
        object_id=str(rid),
        reason=f"{grant.purpose_code}: {text}" if text else None,
        source=source,
        details={"grant": str(grant.id), "variant": grant.variant, "purpose": grant.purpose_code},
    )
    return grant


def _parse_id(value: uuid.UUID | str) -> uuid.UUID | None:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def refuse_access(
    runtime: Runtime,
    principal: Principal,
    *,
    object_id: str | None,
    action: str,
    why: str,
    source: str | None,
    purpose: str | None = None,
    variant: str | None = None,
) -> None:
    """Write one refused access to the audit trail, committed at once."""
    from callvault.audit.service import record_isolated

    details: dict[str, object] = {"why": why, "attempted": action}
    if purpose and len(purpose) <= 40 and purpose.replace("_", "").isalnum():
        details["purpose"] = purpose
    if variant in (Variant.PSEUDONYMISED, Variant.ORIGINAL):
        details["variant"] = variant
    record_isolated(
        runtime,
        actor=principal.actor,
        action="access.refused",
        object_type="recording",
        object_id=object_id,
        source=source,
        outcome="refused",
        details=details,
    )
    log.info("access_refused", principal_id=str(principal.id), why=why, recording_id=object_id)


# --- the DPO's list of refusals ----------------------------------------------------------------


@dataclass(frozen=True)
class RefusalCount:
    actor: str
    day: date
    count: int
    reasons: dict[str, int]


def refusals_by_user_and_day(
    session: Session, *, since: datetime, until: datetime
) -> list[RefusalCount]:
    """Refused attempts (access.refused entries) per actor and UTC day, newest day first."""
    from callvault.audit.models import AuditEntry

    rows = session.execute(
        sa.select(AuditEntry.actor, AuditEntry.at, AuditEntry.details)
        .where(
            AuditEntry.action == "access.refused",
            AuditEntry.outcome == "refused",
            AuditEntry.at >= since,
            AuditEntry.at < until,
        )
        .order_by(AuditEntry.at)
    ).all()
    counts: dict[tuple[str, date], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for actor, at, details in rows:
        why = str((details or {}).get("why", "unknown"))
        counts[(actor, at.date())][why] += 1
    return sorted(
        (
            RefusalCount(actor, day, sum(reasons.values()), dict(reasons))
            for (actor, day), reasons in counts.items()
        ),
        key=lambda r: (-r.day.toordinal(), r.actor),
    )
