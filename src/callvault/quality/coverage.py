"""Which recordings a QA manager may evaluate: through a live quality-assurance grant only,
checked with the access part's own rules (`access.service.covers`, `active_grants`)."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from callvault.access import service as access
from callvault.access.grants import active_grants
from callvault.access.models import AccessGrant
from callvault.access.reasons import RULE as REASON_RULE
from callvault.access.reasons import is_meaningful, normalise_reason
from callvault.accounts.auth import Principal
from callvault.accounts.roles import Role
from callvault.errors import InvalidInput, NotFound
from callvault.policy.purposes import QUALITY_ASSURANCE
from callvault.recordings.models import Recording
from callvault.runtime import Runtime


def qa_grants(session: Session, principal: Principal, now: datetime) -> list[AccessGrant]:
    """The principal's live grants for quality assurance (none unless a QA manager)."""
    if principal.role != Role.QA_MANAGER:
        return []
    return [
        g for g in active_grants(session, principal, now) if g.purpose_code == QUALITY_ASSURANCE
    ]


def is_covered(
    session: Session, principal: Principal, recording_id: uuid.UUID, now: datetime
) -> bool:
    """Whether the recording is readable and covered by one of the principal's live QA grants
    (one query for the grants, one for the recording; nothing else is loaded)."""
    grants = qa_grants(session, principal, now)
    if not grants:
        return False
    covered = sa.or_(*(access.covers(g) for g in grants))
    found = session.scalar(
        sa.select(Recording.id).where(Recording.id == recording_id, access._readable(now), covered)
    )
    return found is not None


def require_covered(
    session: Session,
    runtime: Runtime,
    principal: Principal,
    recording_id: uuid.UUID,
    *,
    action: str,
    source: str,
) -> None:
    """Nothing if covered; otherwise the same 404 as everywhere, with the refusal audited."""
    if not is_covered(session, principal, recording_id, runtime.clock.now()):
        access.refuse_access(
            runtime,
            principal,
            object_id=str(recording_id),
            action=action,
            why="no_grant",
            source=source,
            purpose=QUALITY_ASSURANCE,
        )
        raise NotFound(access.NOT_FOUND)


def open_for_evaluation(
    session: Session,
    runtime: Runtime,
    principal: Principal,
    recording_id: uuid.UUID | str,
    *,
    reason: str | None,
    source: str,
) -> tuple[Recording, AccessGrant]:
    """Open a recording to evaluate it: a stated reason and a live QA grant, audited as every
    access is (`recording.view` with the reason); otherwise the same refusals as playback."""
    text = normalise_reason(reason)
    rid = access._parse_id(recording_id)
    if not is_meaningful(text):
        access.refuse_access(
            runtime,
            principal,
            object_id=str(rid) if rid else None,
            action="recording.view",
            why="reason",
            source=source,
            purpose=QUALITY_ASSURANCE,
        )
        raise InvalidInput(REASON_RULE)
    grant = access.authorize(
        session,
        runtime,
        principal,
        recording_id,
        variant=None,
        purpose=QUALITY_ASSURANCE,
        reason=text,
        action="recording.view",
        source=source,
    )
    recording = session.get(Recording, rid)
    if recording is None:  # pragma: no cover - authorize found it
        raise NotFound(access.NOT_FOUND)
    return recording, grant
