"""Creating, listing and revoking access grants (§6): only the DPO decides who sees what."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
import structlog
from sqlalchemy.orm import Session

from callvault.access.models import AccessGrant, AccessGrantRecording, ScopeKind, Variant
from callvault.accounts.auth import Principal
from callvault.accounts.models import Account
from callvault.accounts.roles import GRANTEE_ROLES, Role
from callvault.errors import InvalidInput, NotFound, PermissionDenied
from callvault.inputs import EARLIEST_DAY, LATEST_DAY
from callvault.policy.models import PolicyPurpose, PolicyVersion
from callvault.policy.service import version_in_force
from callvault.runtime import Runtime

log = structlog.get_logger(__name__)

MAX_VALIDITY = timedelta(days=90)
MAX_LISTED_RECORDINGS = 1000


@dataclass(frozen=True)
class GrantScope:
    """What a grant covers: everything, a date range, one agent, one team or listed recordings."""

    kind: ScopeKind
    date_from: datetime | None = None
    date_until: datetime | None = None
    agent_id: str | None = None
    team: str | None = None
    recording_ids: tuple[uuid.UUID, ...] = field(default_factory=tuple)

    def check(self) -> None:
        given = {
            ScopeKind.DATE_RANGE: self.date_from is not None or self.date_until is not None,
            ScopeKind.AGENT: bool(self.agent_id),
            ScopeKind.TEAM: bool(self.team),
            ScopeKind.RECORDINGS: bool(self.recording_ids),
        }
        extra = [k.value for k, present in given.items() if present and k != self.kind]
        if extra:
            raise InvalidInput(f"a {self.kind.value} scope takes no {', '.join(extra)} fields")
        for moment in (self.date_from, self.date_until):
            # Checked before any conversion: 9999-12-31T23:59:59-14:00 overflows on the way to
            # UTC, and a year-9999 date cannot be shown in Stockholm time.
            if moment is not None and not EARLIEST_DAY <= moment.date() <= LATEST_DAY:
                raise InvalidInput(f"scope dates run from {EARLIEST_DAY} to {LATEST_DAY}")
        if self.kind == ScopeKind.DATE_RANGE:
            if self.date_from is None or self.date_until is None:
                raise InvalidInput("a date_range scope needs both date_from and date_until")
            if self.date_until <= self.date_from:
                raise InvalidInput("date_until must be after date_from")
        elif self.kind != ScopeKind.ALL and not given[self.kind]:
            raise InvalidInput(f"a {self.kind.value} scope needs its {self.kind.value} field")
        if len(self.recording_ids) > MAX_LISTED_RECORDINGS:
            raise InvalidInput(f"a grant lists at most {MAX_LISTED_RECORDINGS} recordings")


def _require_dpo(principal: Principal) -> None:
    if principal.kind != "account" or principal.role != Role.DPO:
        raise PermissionDenied("only the data protection officer manages grants")


def registered_purpose(session: Session, code: str, at: datetime) -> PolicyPurpose | None:
    """The purpose with this code in the policy version in force at `at`, if registered."""
    version = version_in_force(session, at)
    return next((p for p in version.purposes if p.code == code), None)


def check_terms(
    session: Session,
    now: datetime,
    *,
    purpose: str,
    variant: str,
    scope: GrantScope,
    valid_from: datetime,
    valid_until: datetime,
) -> tuple[PolicyPurpose, Variant]:
    """The rules of §6 for what a grant may cover, whoever asks (a grant, an access request):
    a registered purpose, a variant it allows, a sound scope, at most 90 days, not over."""
    registered = registered_purpose(session, purpose, now)
    if registered is None:
        raise InvalidInput("that purpose is not registered in the policy in force")
    try:
        checked_variant = Variant(variant)
    except ValueError:
        raise InvalidInput("the variant is pseudonymised or original") from None
    if checked_variant.value not in registered.variants:
        allowed = ", ".join(registered.variants)
        raise InvalidInput(f"the purpose {purpose} allows only these variants: {allowed}")
    if valid_until <= valid_from:
        raise InvalidInput("valid_until must be after valid_from")
    if valid_until - valid_from > MAX_VALIDITY:
        raise InvalidInput("a grant is valid for at most 90 days")
    if valid_until <= now:
        raise InvalidInput("that grant would already have expired")
    scope.check()
    return registered, checked_variant


def create_grant(
    session: Session,
    runtime: Runtime,
    principal: Principal,
    *,
    grantee_id: uuid.UUID,
    purpose: str,
    variant: str,
    scope: GrantScope,
    valid_from: datetime,
    valid_until: datetime,
    allows_download: bool = False,
    note: str | None = None,
    source: str,
) -> AccessGrant:
    """Record the DPO's grant after checking every rule of §6; refusals say which rule."""
    _require_dpo(principal)
    now = runtime.clock.now()
    if grantee_id == principal.id:
        raise PermissionDenied("the DPO cannot grant access to themself")
    grantee = session.get(Account, grantee_id)
    if grantee is None or grantee.disabled_at is not None:
        raise InvalidInput("the grantee is not an active account")
    if grantee.role not in GRANTEE_ROLES:
        raise InvalidInput("grants go to training managers and quality assurance managers only")
    registered, checked_variant = check_terms(
        session,
        now,
        purpose=purpose,
        variant=variant,
        scope=scope,
        valid_from=valid_from,
        valid_until=valid_until,
    )
    grant = AccessGrant(
        grantee_id=grantee.id,
        granted_by=principal.id,
        purpose_code=registered.code,
        policy_version_id=registered.policy_version_id,
        variant=checked_variant.value,
        scope_kind=scope.kind.value,
        scope_from=scope.date_from,
        scope_until=scope.date_until,
        scope_agent_id=scope.agent_id,
        scope_team=scope.team,
        valid_from=valid_from,
        valid_until=valid_until,
        allows_download=allows_download,
        note=(note or None) and note[:500],
        created_at=now,
    )
    grant.recordings = [
        AccessGrantRecording(recording_id=rid) for rid in dict.fromkeys(scope.recording_ids)
    ]
    session.add(grant)
    session.flush()
    from callvault.audit.service import record

    record(
        session,
        actor=principal.actor,
        action="grant.create",
        object_type="grant",
        object_id=str(grant.id),
        source=source,
        details={
            "grantee": str(grantee.id),
            "purpose": grant.purpose_code,
            "variant": grant.variant,
            "scope": grant.scope_kind,
            "allows_download": allows_download,
            "days": (valid_until - valid_from).days,
        },
    )
    log.info("grant_created", grant_id=str(grant.id), grantee_id=str(grantee.id))
    return grant


def revoke_grant(
    session: Session, runtime: Runtime, principal: Principal, grant_id: uuid.UUID, *, source: str
) -> AccessGrant:
    """Revoke at once: every later request, in any open session, is refused."""
    _require_dpo(principal)
    grant = session.get(AccessGrant, grant_id, with_for_update=True)
    if grant is None:
        raise NotFound("no such grant")
    if grant.revoked_at is None:
        grant.revoked_at = runtime.clock.now()
        grant.revoked_by = principal.id
        session.flush()
        from callvault.audit.service import record

        record(
            session,
            actor=principal.actor,
            action="grant.revoke",
            object_type="grant",
            object_id=str(grant.id),
            source=source,
            details={"grantee": str(grant.grantee_id)},
        )
    return grant


def revoke_grants_of(
    session: Session, runtime: Runtime, grantee_id: uuid.UUID, *, actor: str, source: str
) -> int:
    """Revoke every grant an account holds (its role changed): a later promotion starts afresh."""
    from callvault.audit.service import record

    grants = session.scalars(
        sa.select(AccessGrant)
        .where(AccessGrant.grantee_id == grantee_id, AccessGrant.revoked_at.is_(None))
        .with_for_update()
    ).all()
    now = runtime.clock.now()
    for grant in grants:
        grant.revoked_at = now
        record(
            session,
            actor=actor,
            action="grant.revoke",
            object_type="grant",
            object_id=str(grant.id),
            source=source,
            details={"grantee": str(grantee_id), "cause": "role_changed"},
        )
    session.flush()
    return len(grants)


def list_grants(
    session: Session,
    runtime: Runtime,
    principal: Principal,
    *,
    grantee_id: uuid.UUID | None = None,
    active_only: bool = False,
) -> Sequence[AccessGrant]:
    """The DPO sees every grant; a manager sees only their own."""
    stmt = sa.select(AccessGrant).order_by(AccessGrant.created_at.desc(), AccessGrant.id)
    if principal.role != Role.DPO:
        stmt = stmt.where(AccessGrant.grantee_id == principal.id)
    elif grantee_id is not None:
        stmt = stmt.where(AccessGrant.grantee_id == grantee_id)
    if active_only:
        now = runtime.clock.now()
        stmt = stmt.where(
            AccessGrant.revoked_at.is_(None),
            AccessGrant.valid_from <= now,
            AccessGrant.valid_until > now,
        )
    return session.scalars(stmt).all()


def active_grants(session: Session, principal: Principal, now: datetime) -> list[AccessGrant]:
    """The grants that let this principal see recordings right now (none for anyone else).

    A grant counts only while it is unrevoked and within its validity, its grantee is an active
    training or QA manager, and its purpose and variant are still registered in the policy in
    force.
    """
    if principal.kind != "account" or principal.role not in GRANTEE_ROLES:
        return []
    in_force = _version_in_force_id(now)
    rows = session.execute(
        sa.select(AccessGrant, PolicyPurpose.variants)
        .join(Account, Account.id == AccessGrant.grantee_id)
        .join(
            PolicyPurpose,
            sa.and_(
                PolicyPurpose.code == AccessGrant.purpose_code,
                PolicyPurpose.policy_version_id == in_force,
            ),
        )
        .where(
            AccessGrant.grantee_id == principal.id,
            AccessGrant.revoked_at.is_(None),
            AccessGrant.valid_from <= now,
            AccessGrant.valid_until > now,
            Account.disabled_at.is_(None),
            Account.role.in_(sorted(GRANTEE_ROLES)),
        )
        .order_by(AccessGrant.created_at, AccessGrant.id)
    ).all()
    return [grant for grant, variants in rows if grant.variant in (variants or ())]


def _version_in_force_id(at: datetime) -> sa.ScalarSelect[uuid.UUID]:
    return (
        sa.select(PolicyVersion.id)
        .where(PolicyVersion.effective_from <= at)
        .order_by(PolicyVersion.effective_from.desc(), PolicyVersion.number.desc())
        .limit(1)
        .scalar_subquery()
    )


def registered_variants(session: Session, at: datetime) -> dict[str, tuple[str, ...]]:
    """Purpose code → allowed variants, in the policy version in force at `at` (one query)."""
    in_force = _version_in_force_id(at)
    rows = session.execute(
        sa.select(PolicyPurpose.code, PolicyPurpose.variants).where(
            PolicyPurpose.policy_version_id == in_force
        )
    ).all()
    return {code: tuple(variants or ()) for code, variants in rows}
