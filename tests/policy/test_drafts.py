"""Purpose changes are drafts until the DPO approves them; approval makes a new version (§2)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from callvault.accounts.auth import Principal
from callvault.audit.models import AuditEntry
from callvault.clock import FixedClock
from callvault.errors import Conflict, InvalidInput, PermissionDenied
from callvault.policy.drafts import approve_draft, create_draft, discard_draft, draft_changes
from callvault.policy.models import PolicyVersion
from callvault.policy.purposes import PurposeSpec
from callvault.policy.service import published_versions, version_in_force
from callvault.recordings.models import Recording, RecordingPurpose
from callvault.runtime import Runtime
from tests.policy.conftest import principal


def purposes_of(version: PolicyVersion) -> list[PurposeSpec]:
    return [PurposeSpec.of(p) for p in version.purposes]


def changed(version: PolicyVersion, code: str, **update: object) -> list[PurposeSpec]:
    return [p.model_copy(update=update) if p.code == code else p for p in purposes_of(version)]


COMPLAINTS = PurposeSpec(
    code="complaints",
    description_sv="Utredning av klagomål.",
    description_en="Investigating complaints.",
    retention_days=180,
    variants=["original", "pseudonymised"],
)


@pytest.mark.parametrize(
    ("edit", "added", "removed", "changed_codes", "retention"),
    [
        ("retention", [], [], ["quality_assurance"], {"quality_assurance": (90, 30)}),
        ("add", ["complaints"], [], [], {}),
        ("describe", [], [], ["training"], {}),
        ("remove", [], ["quality_assurance"], [], {}),
    ],
)
def test_a_draft_reports_what_it_changes(
    session: Session,
    runtime: Runtime,
    first_version: PolicyVersion,
    dpo: Principal,
    edit: str,
    added: list[str],
    removed: list[str],
    changed_codes: list[str],
    retention: dict[str, tuple[int, int]],
) -> None:
    specs = {
        "retention": changed(first_version, "quality_assurance", retention_days=30),
        "add": [*purposes_of(first_version), COMPLAINTS],
        "describe": changed(first_version, "training", description_en="Coaching new agents."),
        "remove": [p for p in purposes_of(first_version) if p.code == "training"],
    }[edit]
    draft = create_draft(session, runtime, actor=dpo, change_note="Why: test", purposes=specs)
    changes = draft_changes(session, draft)
    assert (changes.added, changes.removed, changes.changed) == (added, removed, changed_codes)
    assert changes.retention == retention
    # A draft binds nothing: the version in force is unchanged.
    assert version_in_force(session, runtime.clock.now()).id == first_version.id


def test_approval_creates_version_2_with_date_dpo_and_note(
    session: Session,
    runtime: Runtime,
    clock: FixedClock,
    first_version: PolicyVersion,
    dpo: Principal,
) -> None:
    draft = create_draft(
        session,
        runtime,
        actor=dpo,
        change_note="Complaints handling added after DPIA 2026-02.",
        purposes=[*purposes_of(first_version), COMPLAINTS],
    )
    effective = clock.now() + timedelta(days=7)
    version = approve_draft(session, runtime, draft.id, actor=dpo, effective_from=effective)

    assert version.number == 2
    assert version.effective_from == effective
    assert version.approved_by == dpo.id
    assert version.change_note == "Complaints handling added after DPIA 2026-02."
    assert sorted(p.code for p in version.purposes) == [
        "complaints",
        "quality_assurance",
        "training",
    ]
    assert version.prompt_sv == first_version.prompt_sv  # texts not in the draft are kept
    assert draft.state == "approved" and draft.approved_version_id == version.id
    # Announced ahead: version 1 stays in force until the effective date.
    assert version_in_force(session, clock.now()).number == 1
    assert version_in_force(session, effective).number == 2
    assert [v.number for v in published_versions(session)] == [2, 1]
    entry = session.scalars(
        sa.select(AuditEntry).where(AuditEntry.action == "policy.approve")
    ).one()
    assert entry.actor == dpo.actor
    assert entry.details["added"] == ["complaints"]


@pytest.mark.parametrize("role", ["qa_manager", "training_manager", "it_admin", "agent"])
def test_only_the_dpo_drafts_or_approves(
    session: Session, runtime: Runtime, first_version: PolicyVersion, dpo: Principal, role: str
) -> None:
    other = principal(role)
    with pytest.raises(PermissionDenied):
        create_draft(session, runtime, actor=other, change_note="sneaky", purposes=None)
    draft = create_draft(
        session,
        runtime,
        actor=dpo,
        change_note="QA 60 days",
        purposes=changed(first_version, "quality_assurance", retention_days=60),
    )
    with pytest.raises(PermissionDenied):
        approve_draft(session, runtime, draft.id, actor=other)
    assert [v.number for v in published_versions(session)] == [1]


def test_existing_recordings_keep_their_purposes(
    session: Session,
    runtime: Runtime,
    clock: FixedClock,
    first_version: PolicyVersion,
    dpo: Principal,
) -> None:
    recording = Recording(
        call_id="CA-test-purposes",
        agent_id="agent-1",
        team=None,
        started_at=clock.now(),
        ended_at=clock.now(),
        duration_s=3.0,
        sample_rate=8000,
        channel_layout=["caller", "agent"],
        language="sv",
        policy_version_id=first_version.id,
        content_sha256="0" * 64,
        expires_at=clock.now() + timedelta(days=90),
        state="ready",
        created_at=clock.now(),
        purposes=[
            RecordingPurpose(purpose_code="training"),
            RecordingPurpose(purpose_code="quality_assurance"),
        ],
    )
    session.add(recording)
    session.flush()
    draft = create_draft(
        session,
        runtime,
        actor=dpo,
        change_note="Training dropped",
        purposes=[p for p in purposes_of(first_version) if p.code == "quality_assurance"],
    )
    approve_draft(session, runtime, draft.id, actor=dpo)
    session.expire_all()
    kept = session.get(Recording, recording.id)
    assert kept is not None
    assert kept.purpose_codes == ["quality_assurance", "training"]
    assert kept.policy_version_id == first_version.id


@pytest.mark.parametrize(
    "bad",
    [
        {"code": "training", "variants": ["original"]},  # §3: training is pseudonymised only
        {"retention_days": 0},
        {"code": "Training!"},
        {"variants": []},
    ],
)
def test_invalid_purposes_are_refused(first_version: PolicyVersion, bad: dict[str, object]) -> None:
    base = {**COMPLAINTS.model_dump(), **bad}
    with pytest.raises(ValueError):
        PurposeSpec.model_validate(base)


def test_a_draft_must_change_something(
    session: Session, runtime: Runtime, first_version: PolicyVersion, dpo: Principal
) -> None:
    draft = create_draft(session, runtime, actor=dpo, change_note="nothing really")
    with pytest.raises(InvalidInput):
        approve_draft(session, runtime, draft.id, actor=dpo)


def test_approval_cannot_be_backdated(
    session: Session,
    runtime: Runtime,
    clock: FixedClock,
    first_version: PolicyVersion,
    dpo: Principal,
) -> None:
    draft = create_draft(
        session,
        runtime,
        actor=dpo,
        change_note="QA 60",
        purposes=changed(first_version, "quality_assurance", retention_days=60),
    )
    with pytest.raises(InvalidInput):
        approve_draft(
            session, runtime, draft.id, actor=dpo, effective_from=clock.now() - timedelta(days=1)
        )


def test_a_stale_draft_is_refused(
    session: Session, runtime: Runtime, first_version: PolicyVersion, dpo: Principal
) -> None:
    one = create_draft(
        session,
        runtime,
        actor=dpo,
        change_note="QA 60",
        purposes=changed(first_version, "quality_assurance", retention_days=60),
    )
    two = create_draft(
        session,
        runtime,
        actor=dpo,
        change_note="QA 30",
        purposes=changed(first_version, "quality_assurance", retention_days=30),
    )
    approve_draft(session, runtime, one.id, actor=dpo)
    with pytest.raises(Conflict):
        approve_draft(session, runtime, two.id, actor=dpo)
    with pytest.raises(Conflict):
        approve_draft(session, runtime, one.id, actor=dpo)  # already decided


def test_discarded_draft_cannot_be_approved(
    session: Session, runtime: Runtime, first_version: PolicyVersion, dpo: Principal
) -> None:
    draft = create_draft(
        session,
        runtime,
        actor=dpo,
        change_note="QA 60",
        purposes=changed(first_version, "quality_assurance", retention_days=60),
    )
    discard_draft(session, runtime, draft.id, actor=dpo)
    with pytest.raises(Conflict):
        approve_draft(session, runtime, draft.id, actor=dpo)
    assert uuid.UUID(str(draft.decided_by)) == dpo.id
