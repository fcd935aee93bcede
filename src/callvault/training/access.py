"""Who may see and play a clip (§6): a live training grant covering its source, and a reason.

Playing a clip is access to its recording, so the rule is the recording's rule with the purpose
fixed to training and the variant to pseudonymised; an uncovered or unknown clip gets the same
404 as an ungranted recording, and every refusal is audited the same way.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from callvault.access.grants import active_grants, registered_variants
from callvault.access.models import AccessGrant, Variant
from callvault.access.reasons import RULE as REASON_RULE
from callvault.access.reasons import is_meaningful, normalise_reason
from callvault.access.service import (
    HIDDEN_STATES,
    NOT_FOUND,
    covers,
    refuse_access,
)
from callvault.accounts.auth import Principal
from callvault.errors import InvalidInput, NotFound
from callvault.policy.purposes import TRAINING
from callvault.recordings.models import Recording
from callvault.runtime import Runtime
from callvault.training.models import ClipState, TrainingClip


def training_grants(session: Session, principal: Principal, now: datetime) -> list[AccessGrant]:
    """The principal's live grants for training in the pseudonymised variant."""
    return [
        g
        for g in active_grants(session, principal, now)
        if g.purpose_code == TRAINING and g.variant == Variant.PSEUDONYMISED
    ]


def source_alive(now: datetime) -> ColumnElement[bool]:
    """SQL (over TrainingClip joined to Recording): the clip still has a source to stand on, its
    recording live and unexpired, or a policy purpose keeping the approved clip longer."""
    live = sa.and_(Recording.state.not_in(HIDDEN_STATES), Recording.expires_at > now)
    kept = sa.and_(TrainingClip.retained_until.is_not(None), TrainingClip.retained_until > now)
    return sa.and_(TrainingClip.state != ClipState.REMOVED, sa.or_(live, kept))


def visible_condition(grants: list[AccessGrant], now: datetime) -> ColumnElement[bool]:
    """SQL: the clips these grants let their holder see (none without grants)."""
    if not grants:
        return sa.false()
    return sa.and_(source_alive(now), sa.or_(*[covers(g) for g in grants]))


def find_clip(
    session: Session,
    runtime: Runtime,
    principal: Principal,
    clip_id: uuid.UUID | str,
    *,
    action: str,
    reason: str | None = None,
    needs_reason: bool = False,
    source: str | None = None,
    lock: bool = False,
) -> tuple[TrainingClip, AccessGrant]:
    """The clip and the grant that covers it, else the recording's 404 (audited as refused).

    With `needs_reason` (playing, reading the transcript) a meaningful reason (access.reasons)
    is required and the access is audited with it in the caller's transaction, as
    `action` on the source recording (a clip's play is a play of its recording).
    """
    now = runtime.clock.now()
    cid = _parse(clip_id)

    def refuse(why: str, error: Exception) -> Exception:
        refuse_access(
            runtime,
            principal,
            object_id=str(cid) if cid else None,
            action=action,
            why=why,
            source=source,
            purpose=TRAINING,
            variant=Variant.PSEUDONYMISED,
        )
        return error

    text = normalise_reason(reason)
    if needs_reason:
        if TRAINING not in registered_variants(session, now):
            raise refuse("purpose", InvalidInput("state a purpose registered in the policy"))
        if not is_meaningful(text):
            raise refuse("reason", InvalidInput(REASON_RULE))
    if cid is None:
        raise refuse("unknown", NotFound(NOT_FOUND))
    grants = training_grants(session, principal, now)
    flags = [covers(g).label(f"g{n}") for n, g in enumerate(grants)]
    query = (
        sa.select(TrainingClip.id, *flags)
        .join(Recording, Recording.id == TrainingClip.recording_id)
        .where(TrainingClip.id == cid, source_alive(now))
    )
    row = session.execute(query).first()
    if row is None:
        raise refuse("unknown", NotFound(NOT_FOUND))
    covering = [g for g, flag in zip(grants, row[1:], strict=True) if flag]
    if not covering:
        raise refuse("no_grant", NotFound(NOT_FOUND))
    stmt = sa.select(TrainingClip).where(TrainingClip.id == cid)
    if lock:
        stmt = stmt.with_for_update()
    clip = session.scalars(stmt.execution_options(populate_existing=True)).one()
    grant = covering[0]
    if needs_reason:
        from callvault.audit.service import record

        record(
            session,
            actor=principal.actor,
            action=action,
            object_type="recording",
            object_id=str(clip.recording_id),
            reason=f"{TRAINING}: {text}",
            source=source,
            details={
                "grant": str(grant.id),
                "clip": str(clip.id),
                "variant": Variant.PSEUDONYMISED.value,
                "purpose": TRAINING,
                "version": clip.version,
            },
        )
    return clip, grant


def _parse(value: uuid.UUID | str) -> uuid.UUID | None:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None
