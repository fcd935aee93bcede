"""Proposed policy changes (§2): a draft binds nothing until the DPO approves a new version."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import sqlalchemy as sa
import structlog
from sqlalchemy.orm import Session

from callvault.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from callvault.inputs import EARLIEST_DAY, LATEST_DAY
from callvault.policy.models import PolicyDraft, PolicyVersion
from callvault.policy.purposes import PurposeSpec, check_purpose_list
from callvault.policy.service import latest_version
from callvault.runtime import Runtime

log = structlog.get_logger(__name__)

DPO_ROLE = "dpo"
OPEN, APPROVED, DISCARDED = "open", "approved", "discarded"
TEXT_FIELDS = (
    "text_sv",
    "text_en",
    "prompt_sv",
    "prompt_en",
    "employee_basis_sv",
    "employee_basis_en",
)


class Actor(Protocol):
    """Who acts: callvault.accounts.auth.Principal fits."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def role(self) -> str: ...
    @property
    def actor(self) -> str: ...


@dataclass(frozen=True)
class DraftChanges:
    """What a draft changes against the version it was based on."""

    added: list[str]
    removed: list[str]
    changed: list[str]
    retention: dict[str, tuple[int, int]]
    texts: list[str]

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed or self.texts)


def _require_dpo(actor: Actor) -> None:
    # The routes already demand the DPO role; the service refuses too, so no other caller
    # (a CLI command, a future route) can approve a purpose change by mistake.
    if actor.role != DPO_ROLE:
        raise PermissionDenied("only the data protection officer may change the policy (§2)")


def get_draft(session: Session, draft_id: uuid.UUID) -> PolicyDraft:
    draft = session.get(PolicyDraft, draft_id)
    if draft is None:
        raise NotFound("no such policy draft")
    return draft


def list_drafts(session: Session, state: str | None = OPEN) -> list[PolicyDraft]:
    query = sa.select(PolicyDraft).order_by(PolicyDraft.created_at.desc())
    if state is not None:
        query = query.where(PolicyDraft.state == state)
    return list(session.scalars(query))


def create_draft(
    session: Session,
    runtime: Runtime,
    *,
    actor: Actor,
    change_note: str,
    purposes: list[PurposeSpec] | None = None,
    texts: dict[str, str] | None = None,
) -> PolicyDraft:
    """A draft on top of the newest version; purposes default to that version's purposes."""
    _require_dpo(actor)
    base = latest_version(session)
    if base is None:
        raise Conflict("no policy version exists yet; run `callvault init`")
    specs = check_purpose_list(purposes or [PurposeSpec.of(p) for p in base.purposes])
    now = runtime.clock.now()
    draft = PolicyDraft(
        base_version_id=base.id,
        state=OPEN,
        change_note=_note(change_note),
        purposes=[s.model_dump() for s in specs],
        created_by=actor.id,
        created_at=now,
        updated_at=now,
        **_texts(texts),
    )
    session.add(draft)
    session.flush()
    _audit(session, actor, "policy.draft_create", draft.id, {"base_version": base.number})
    return draft


def update_draft(
    session: Session,
    runtime: Runtime,
    draft_id: uuid.UUID,
    *,
    actor: Actor,
    change_note: str | None = None,
    purposes: list[PurposeSpec] | None = None,
    texts: dict[str, str] | None = None,
) -> PolicyDraft:
    """Replace the parts of an open draft that are given."""
    _require_dpo(actor)
    draft = _open_draft(session, draft_id)
    if change_note is not None:
        draft.change_note = _note(change_note)
    if purposes is not None:
        draft.purposes = [s.model_dump() for s in check_purpose_list(purposes)]
    for name, value in _texts(texts).items():
        setattr(draft, name, value)
    draft.updated_at = runtime.clock.now()
    session.flush()
    return draft


def discard_draft(
    session: Session, runtime: Runtime, draft_id: uuid.UUID, *, actor: Actor
) -> PolicyDraft:
    _require_dpo(actor)
    draft = _open_draft(session, draft_id)
    draft.state = DISCARDED
    draft.decided_by = actor.id
    draft.decided_at = runtime.clock.now()
    session.flush()
    _audit(session, actor, "policy.draft_discard", draft.id, {})
    return draft


def draft_changes(session: Session, draft: PolicyDraft) -> DraftChanges:
    """Purposes added, removed and changed (retention separately), and texts replaced."""
    base = session.get(PolicyVersion, draft.base_version_id)
    assert base is not None  # noqa: S101  (foreign key)
    old = {p.code: PurposeSpec.of(p) for p in base.purposes}
    new = {s.code: s for s in _specs(draft)}
    changed = sorted(c for c in old.keys() & new.keys() if old[c] != new[c])
    return DraftChanges(
        added=sorted(new.keys() - old.keys()),
        removed=sorted(old.keys() - new.keys()),
        changed=changed,
        retention={
            c: (old[c].retention_days, new[c].retention_days)
            for c in changed
            if old[c].retention_days != new[c].retention_days
        },
        texts=[f for f in TEXT_FIELDS if getattr(draft, f) not in (None, getattr(base, f))],
    )


def approve_draft(
    session: Session,
    runtime: Runtime,
    draft_id: uuid.UUID,
    *,
    actor: Actor,
    effective_from: datetime | None = None,
) -> PolicyVersion:
    """The DPO's approval: a new version with the draft's purposes, effective from a date.

    Recordings keep the purposes stored with them (recording_purposes); a new version changes
    only what future calls are recorded for.
    """
    _require_dpo(actor)
    draft = _open_draft(session, draft_id)
    base = latest_version(session)
    if base is None or base.id != draft.base_version_id:
        raise Conflict("a newer policy version was approved since this draft was made; revise it")
    changes = draft_changes(session, draft)
    if changes.empty:
        raise InvalidInput("the draft changes nothing")
    now = runtime.clock.now()
    effective = effective_from or now
    if effective.tzinfo is None:
        raise InvalidInput("the effective date needs a time zone")
    if not EARLIEST_DAY <= effective.date() <= LATEST_DAY:  # before any conversion overflows
        raise InvalidInput(f"the effective date lies between {EARLIEST_DAY} and {LATEST_DAY}")
    if effective < now or effective < base.effective_from:
        raise InvalidInput("a policy version cannot take effect in the past")
    version = PolicyVersion(
        number=base.number + 1,
        effective_from=effective,
        approved_by=actor.id,
        change_note=draft.change_note,
        created_at=now,
        **{f: getattr(draft, f) or getattr(base, f) for f in TEXT_FIELDS},
    )
    for spec in _specs(draft):
        version.purposes.append(spec.to_model())
    session.add(version)
    session.flush()
    draft.state = APPROVED
    draft.decided_by = actor.id
    draft.decided_at = now
    draft.approved_version_id = version.id
    session.flush()
    _audit(
        session,
        actor,
        "policy.approve",
        version.id,
        {
            "number": version.number,
            "draft_id": str(draft.id),
            "added": changes.added,
            "removed": changes.removed,
            "changed": changes.changed,
        },
        object_type="policy_version",
    )
    log.info("policy_version_approved", policy_version=version.number, draft_id=str(draft.id))
    return version


def _open_draft(session: Session, draft_id: uuid.UUID) -> PolicyDraft:
    draft = get_draft(session, draft_id)
    if draft.state != OPEN:
        raise Conflict("this draft is already decided")
    return draft


def _specs(draft: PolicyDraft) -> list[PurposeSpec]:
    return [PurposeSpec.model_validate(p) for p in draft.purposes]


def _note(text: str) -> str:
    note = text.strip()
    if len(note) < 3:
        raise InvalidInput("say what the change is and why (change note)")
    return note[:4000]


def _texts(texts: dict[str, str] | None) -> dict[str, str]:
    unknown = set(texts or {}) - set(TEXT_FIELDS)
    if unknown:
        raise InvalidInput(f"unknown text fields: {sorted(unknown)}")
    cleaned = {k: v.strip() for k, v in (texts or {}).items()}
    if any(not v for v in cleaned.values()):
        raise InvalidInput("a policy text or prompt cannot be empty")
    one_line = ("prompt", "employee_basis")
    return {k: (" ".join(v.split()) if k.startswith(one_line) else v) for k, v in cleaned.items()}


def _audit(
    session: Session,
    actor: Actor,
    action: str,
    object_id: uuid.UUID,
    details: dict[str, object],
    *,
    object_type: str = "policy_draft",
) -> None:
    from callvault.audit.service import record

    record(
        session,
        actor=actor.actor,
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        source="api",
        details=details,
    )
