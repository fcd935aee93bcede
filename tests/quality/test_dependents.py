"""Evaluations go with their recording (§7): at retention, on withdrawal and by fsck, in the
same transaction; a longer retention of results only through a DPO-approved policy version."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from pydantic import ValidationError
from sqlalchemy.orm import Session

from callvault.accounts.models import Account
from callvault.accounts.roles import Role
from callvault.clock import FixedClock
from callvault.errors import InvalidInput
from callvault.policy import drafts
from callvault.policy.purposes import EVALUATION_RESULTS, PurposeSpec
from callvault.quality.dependents import delete_expired_results
from callvault.quality.models import (
    QaAnswer,
    QaComment,
    QaEvaluation,
    QaWeeklyAgent,
    QaWeeklyQuestion,
    QaWeeklyTeam,
)
from callvault.runtime import Runtime
from tests.access.conftest import MakeAccount, MakeGrant, MakeRecording, principal_of
from tests.quality.conftest import MakeEvaluation


def _count(session: Session, table: Any) -> int:
    return int(session.scalar(sa.select(sa.func.count()).select_from(table)) or 0)


@pytest.fixture
def graded(
    qa: Account,
    make_grant: MakeGrant,
    make_recording: MakeRecording,
    make_evaluation: MakeEvaluation,
) -> Any:
    make_grant(qa)
    recording = make_recording(artifacts=True, expires_in=timedelta(days=2))
    make_evaluation(qa, recording)
    make_evaluation(qa, recording, submit=False)
    return recording


def test_retention_deletes_the_evaluations_and_keeps_the_team_aggregates(
    graded: Any, runtime: Runtime, clock: FixedClock, session: Session
) -> None:
    from callvault.retention.service import delete_expired_recordings

    assert _count(session, QaEvaluation) == 2 and _count(session, QaWeeklyAgent) == 1
    clock.advance(days=3)
    delete_expired_recordings(runtime)
    session.expire_all()
    assert _count(session, QaEvaluation) == 0
    assert _count(session, QaAnswer) == 0 and _count(session, QaComment) == 0
    assert _count(session, QaWeeklyAgent) == 0  # it names the agent
    team = session.scalars(sa.select(QaWeeklyTeam)).one()
    assert (team.evaluations, team.score_sum) == (1, 80.0)
    assert _count(session, QaWeeklyQuestion) == 4


def test_a_withdrawal_deletes_the_evaluations_at_once(
    graded: Any, runtime: Runtime, session: Session
) -> None:
    from callvault.withdrawal.service import withdraw

    withdraw(session, runtime, call_reference=graded.call_id, actor="system", channel="cli")
    assert _count(session, QaEvaluation) == 0


def test_fsck_repair_deletes_the_evaluations_of_what_it_removes(
    qa: Account,
    make_grant: MakeGrant,
    make_recording: MakeRecording,
    make_evaluation: MakeEvaluation,
    runtime: Runtime,
    session: Session,
) -> None:
    from callvault.recordings import fsck

    make_grant(qa)
    broken = make_recording(artifacts=False)  # no original audio: fsck removes it
    make_evaluation(qa, broken)
    fsck.check(session, runtime, repair=True)
    assert _count(session, QaEvaluation) == 0 and _count(session, QaWeeklyAgent) == 0


def _register_results_retention(
    session: Session, runtime: Runtime, dpo: Account, days: int
) -> None:
    from callvault.policy.service import latest_version

    base = latest_version(session)
    assert base is not None
    specs = [PurposeSpec.of(p) for p in base.purposes]
    specs.append(
        PurposeSpec(
            code=EVALUATION_RESULTS,
            description_sv="Utvärderingsresultat sparas längre för uppföljning.",
            description_en="Evaluation results are kept longer for follow-up.",
            retention_days=days,
            variants=[],
        )
    )
    draft = drafts.create_draft(
        session,
        runtime,
        actor=principal_of(dpo),
        change_note="Resultat sparas ett år",
        purposes=specs,
    )
    drafts.approve_draft(session, runtime, draft.id, actor=principal_of(dpo))


def test_a_dpo_approved_version_keeps_results_longer_and_then_they_go(
    graded: Any, runtime: Runtime, clock: FixedClock, session: Session, dpo: Account
) -> None:
    from callvault.retention.service import delete_expired_recordings

    _register_results_retention(session, runtime, dpo, days=365)
    clock.advance(days=3)
    delete_expired_recordings(runtime)
    session.expire_all()
    kept = session.scalars(sa.select(QaEvaluation)).one()  # the draft went, the result stayed
    assert kept.state == "submitted" and kept.kept_until is not None
    assert kept.comments == [] and len(kept.answers) == 4
    assert delete_expired_results(session, clock.now()) == 0
    clock.advance(days=365)
    assert delete_expired_results(session, clock.now()) == 1
    assert _count(session, QaEvaluation) == 0 and _count(session, QaWeeklyAgent) == 0
    assert _count(session, QaWeeklyTeam) == 1


def test_without_a_registered_results_purpose_nothing_outlives_its_recording(
    graded: Any, runtime: Runtime, clock: FixedClock, session: Session, dpo: Account
) -> None:
    from callvault.retention.service import delete_expired_recordings

    clock.advance(days=3)
    delete_expired_recordings(runtime)
    assert _count(session, QaEvaluation) == 0


def test_the_results_purpose_is_no_recording_purpose(
    session: Session,
    runtime: Runtime,
    dpo: Account,
    make_account: MakeAccount,
    make_grant: MakeGrant,
) -> None:
    from callvault.policy.service import select_purposes, version_in_force

    with pytest.raises(ValidationError, match="no variants"):
        PurposeSpec(
            code=EVALUATION_RESULTS,
            description_sv="xxx",
            description_en="xxx",
            retention_days=365,
            variants=["original"],
        )
    with pytest.raises(ValidationError, match="at least one variant"):
        PurposeSpec(
            code="quality_assurance",
            description_sv="xxx",
            description_en="xxx",
            retention_days=90,
            variants=[],
        )
    _register_results_retention(session, runtime, dpo, days=365)
    version = version_in_force(session, runtime.clock.now())
    assert EVALUATION_RESULTS in {p.code for p in version.purposes}
    # recordings are made (and kept) for recording purposes only
    assert EVALUATION_RESULTS not in {p.code for p in select_purposes(version, None)}
    with pytest.raises(InvalidInput):
        select_purposes(version, [EVALUATION_RESULTS])
    with pytest.raises(InvalidInput):
        make_grant(make_account(Role.QA_MANAGER), purpose=EVALUATION_RESULTS, variant="original")


def test_samples_and_calibrations_go_with_the_recording(
    qa: Account,
    make_account: MakeAccount,
    make_grant: MakeGrant,
    make_recording: MakeRecording,
    form_version: Any,
    runtime: Runtime,
    clock: FixedClock,
    session: Session,
) -> None:
    from callvault.quality import calibration, sampling
    from callvault.quality.models import QaCalibration, QaCalibrationMember, QaSampleItem
    from callvault.retention.service import delete_expired_recordings

    other = make_account(Role.QA_MANAGER)
    make_grant(qa)
    make_grant(other)
    recording = make_recording(artifacts=True, expires_in=timedelta(days=2))
    now = clock.now()
    sampling.create_sample(
        session,
        runtime,
        principal_of(qa),
        form_id=form_version.form_id,
        start=now - timedelta(days=7),
        until=now,
        per_agent=1,
        source="test",
    )
    opened = calibration.create_calibration(
        session,
        runtime,
        principal_of(qa),
        recording_id=recording.id,
        form_id=form_version.form_id,
        evaluator_ids=[qa.id, other.id],
        reason="kalibrering vecka 10 för teamet",
        source="test",
    )
    calibration.start_evaluation(
        session,
        runtime,
        principal_of(other),
        opened.id,
        reason="kalibrering vecka 10 för teamet",
        source="test",
    )
    assert _count(session, QaSampleItem) == 1 and _count(session, QaCalibration) == 1
    clock.advance(days=3)
    delete_expired_recordings(runtime)
    session.expire_all()
    for table in (QaSampleItem, QaCalibration, QaCalibrationMember, QaEvaluation):
        assert _count(session, table) == 0, table


def test_a_longer_results_retention_keeps_no_consent_evidence_longer(
    session: Session, runtime: Runtime, clock: FixedClock, dpo: Account
) -> None:
    from callvault.consent.models import ConsentEvidence
    from callvault.policy.service import version_in_force
    from callvault.retention.service import delete_unused_consent_evidence

    _register_results_retention(session, runtime, dpo, days=365)
    version = version_in_force(session, clock.now())
    orphan = ConsentEvidence(
        call_id="CA-never-recorded", digit="1", given_at=clock.now() - timedelta(days=91),
        policy_version_id=version.id, prompt_sha256="0" * 64, prompt_version="v1",
        language="sv", source="ivr", created_at=clock.now() - timedelta(days=91),
    )  # fmt: skip
    session.add(orphan)
    session.flush()
    assert delete_unused_consent_evidence(session, clock.now(), runtime) == 1


def test_the_results_retention_is_told_to_employees_not_callers(
    session: Session, runtime: Runtime, dpo: Account
) -> None:
    from callvault.policy.art13 import art13_information

    _register_results_retention(session, runtime, dpo, days=365)
    employees = art13_information(session, runtime, "employee", "sv")["retention"]
    callers = art13_information(session, runtime, "caller", "sv")["retention"]
    assert employees["by_purpose"][EVALUATION_RESULTS] == 365  # type: ignore[index]
    assert EVALUATION_RESULTS not in callers["by_purpose"]  # type: ignore[index]
