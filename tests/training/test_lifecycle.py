"""A clip lives as long as its recording (§7), unless a DPO-approved purpose keeps it longer."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from callvault.access.models import AccessGrant
from callvault.accounts.models import Account
from callvault.clock import FixedClock
from callvault.policy.drafts import approve_draft, create_draft
from callvault.policy.purposes import FIRST_PURPOSES, TRAINING_LIBRARY, PurposeSpec
from callvault.policy.service import select_purposes, version_in_force
from callvault.recordings.models import Recording, RecordingState
from callvault.retention.service import delete_expired_recordings
from callvault.runtime import Runtime
from callvault.training import library, service
from callvault.training.models import ClipState, TrainingClip
from callvault.vault.fsck import fsck
from callvault.vault.models import Artifact
from callvault.withdrawal.service import withdraw
from tests.access.conftest import principal_of
from tests.training.conftest import MakeCall

Grant = Callable[..., AccessGrant]


def _clip(
    session: Session, runtime: Runtime, author: Account, recording: Recording
) -> TrainingClip:
    return service.cut_clip(
        session,
        runtime,
        principal_of(author),
        recording_id=recording.id,
        start=5,
        end=25,
        title="Arg kund",
        tags=["arg kund"],
        lesson="Lugnt tonläge, sammanfatta problemet.",
    )


def _approve(session: Session, runtime: Runtime, clip: TrainingClip, reviewer: Account) -> None:
    service.record_hearing(session, clip, reviewer.id, runtime.clock.now())
    service.review_clip(
        session,
        runtime,
        principal_of(reviewer),
        clip.id,
        decision="approve",
        comment="hörd, inga namn",
    )


def _keys(session: Session, owner: object) -> set[str]:
    return set(session.scalars(sa.select(Artifact.kind).where(Artifact.owner_id == owner)))


def test_retention_destroys_the_clip_keys_with_the_recordings(
    session: Session,
    runtime: Runtime,
    clock: FixedClock,
    author: Account,
    reviewer: Account,
    make_call: MakeCall,
) -> None:
    recording = make_call(expires_in=timedelta(days=10))
    clip = _clip(session, runtime, author, recording)
    _approve(session, runtime, clip, reviewer)
    assert _keys(session, clip.id) == {"clip_audio", "clip_transcript"}
    clock.advance(days=11)
    result = delete_expired_recordings(runtime)
    assert result.begun == 1
    session.expire_all()
    assert _keys(session, clip.id) == set()
    removed = session.get(TrainingClip, clip.id)
    assert removed is not None and removed.state == ClipState.REMOVED
    assert removed.removed_reason == "retention" and removed.search is None


def test_withdrawal_destroys_the_clip_keys_in_its_own_transaction(
    session: Session, runtime: Runtime, author: Account, make_call: MakeCall
) -> None:
    recording = make_call()
    clip = _clip(session, runtime, author, recording)
    withdraw(session, runtime, call_reference=recording.call_id, actor="system", channel="web")
    # not yet committed: the keys are gone in the withdrawal's own transaction
    assert _keys(session, clip.id) == set()
    assert clip.state == ClipState.REMOVED and clip.removed_reason == "withdrawal"


def test_fsck_removes_clips_with_their_broken_recording(
    session: Session, runtime: Runtime, author: Account, make_call: MakeCall
) -> None:
    recording = make_call()
    clip = _clip(session, runtime, author, recording)
    original = session.scalar(
        sa.select(Artifact).where(Artifact.owner_id == recording.id, Artifact.kind == "original")
    )
    session.delete(original)
    session.flush()
    report = fsck(runtime, repair=True)
    assert any(f.kind.startswith("recording_without_") for f in report.findings)
    session.expire_all()
    assert _keys(session, clip.id) == set()


def test_fsck_finds_a_clip_whose_recording_is_gone(
    session: Session, runtime: Runtime, author: Account, make_call: MakeCall
) -> None:
    recording = make_call()
    clip = _clip(session, runtime, author, recording)
    recording.state = RecordingState.DELETED  # deleted before clips had a hook
    session.flush()
    assert [f.kind for f in fsck(runtime, repair=False).findings] == ["clip_without_recording"]
    fsck(runtime, repair=True)
    session.expire_all()
    assert _keys(session, clip.id) == set()
    assert fsck(runtime, repair=False).findings == []


def test_a_collection_says_a_clip_was_removed(
    session: Session,
    runtime: Runtime,
    clock: FixedClock,
    author: Account,
    reviewer: Account,
    make_call: MakeCall,
) -> None:
    recording = make_call(expires_in=timedelta(days=10))
    clip = _clip(session, runtime, author, recording)
    _approve(session, runtime, clip, reviewer)
    collection = library.create_collection(
        session, runtime, principal_of(author), title="Vecka 1", description="", clip_ids=[clip.id]
    )
    entries = library.entries(session, runtime, principal_of(author), collection)
    assert [e.status for e in entries] == ["playable"]
    clock.advance(days=11)
    delete_expired_recordings(runtime)
    session.expire_all()
    entries = library.entries(session, runtime, principal_of(author), collection)
    assert [e.status for e in entries] == ["removed"]


def _library_policy(session: Session, runtime: Runtime, dpo: Account, days: int) -> None:
    """Policy version 2: the two purposes of version 1 and the training library's own."""
    library_purpose = PurposeSpec(
        code=TRAINING_LIBRARY,
        description_sv="Godkända utbildningsklipp sparas i utbildningsbiblioteket.",
        description_en="Approved training clips are kept in the training library.",
        retention_days=days,
        variants=["pseudonymised"],
    )
    draft = create_draft(
        session,
        runtime,
        actor=principal_of(dpo),
        change_note="bibliotek",
        purposes=[*FIRST_PURPOSES, library_purpose],
    )
    approve_draft(session, runtime, draft.id, actor=principal_of(dpo))


def test_without_a_library_purpose_an_approved_clip_is_not_kept(
    session: Session, runtime: Runtime, author: Account, reviewer: Account, make_call: MakeCall
) -> None:
    clip = _clip(session, runtime, author, make_call())
    _approve(session, runtime, clip, reviewer)
    assert clip.retained_until is None


def test_a_library_purpose_keeps_approved_clips_for_its_own_retention_and_the_sweep_honours_it(
    session: Session,
    runtime: Runtime,
    clock: FixedClock,
    dpo: Account,
    author: Account,
    reviewer: Account,
    make_call: MakeCall,
    training_grant: Grant,
) -> None:
    _library_policy(session, runtime, dpo, days=365)
    recording = make_call(expires_in=timedelta(days=10))
    kept = _clip(session, runtime, author, recording)
    draft = _clip(session, runtime, author, recording)
    _approve(session, runtime, kept, reviewer)
    assert kept.retained_until == clock.now() + timedelta(days=365)

    clock.advance(days=11)  # the recording's retention has run out
    delete_expired_recordings(runtime)
    session.expire_all()
    assert session.get(Recording, recording.id).state == RecordingState.DELETED  # type: ignore[union-attr]
    assert _keys(session, recording.id) == set()
    assert _keys(session, kept.id) == {"clip_audio", "clip_transcript"}
    assert session.get(TrainingClip, draft.id).state == ClipState.REMOVED  # type: ignore[union-attr]
    training_grant(reviewer)  # the first grant ran out meanwhile
    found = library.search_clips(
        session, runtime, principal_of(reviewer), library.ClipQuery(state="approved")
    )
    assert [c.id for c in found] == [kept.id]

    clock.advance(days=355)  # the purpose's retention has run out too
    delete_expired_recordings(runtime)
    session.expire_all()
    assert _keys(session, kept.id) == set()
    gone = session.get(TrainingClip, kept.id)
    assert gone is not None and gone.state == ClipState.REMOVED
    assert gone.removed_reason == "library_expired"


def test_withdrawal_takes_even_a_clip_the_library_purpose_keeps(
    session: Session,
    runtime: Runtime,
    dpo: Account,
    author: Account,
    reviewer: Account,
    make_call: MakeCall,
) -> None:
    _library_policy(session, runtime, dpo, days=365)
    recording = make_call()
    clip = _clip(session, runtime, author, recording)
    _approve(session, runtime, clip, reviewer)
    withdraw(session, runtime, call_reference=recording.call_id, actor="system", channel="web")
    assert _keys(session, clip.id) == set()


def test_the_library_purpose_is_never_a_purpose_recordings_are_made_for(
    session: Session, runtime: Runtime, dpo: Account
) -> None:
    _library_policy(session, runtime, dpo, days=365)
    version = version_in_force(session, runtime.clock.now())
    assert TRAINING_LIBRARY in {p.code for p in version.purposes}
    assert TRAINING_LIBRARY not in {p.code for p in select_purposes(version, None)}


def test_a_kept_clip_leaves_its_recordings_key_epoch_and_outlives_its_retirement(
    session: Session,
    runtime: Runtime,
    clock: FixedClock,
    dpo: Account,
    author: Account,
    reviewer: Account,
    make_call: MakeCall,
) -> None:
    from callvault.vault.epochs import epoch_of
    from callvault.vault.service import open_artifact

    _library_policy(session, runtime, dpo, days=365)
    recording = make_call(expires_in=timedelta(days=10))
    clip = _clip(session, runtime, author, recording)
    epochs = {s.epoch: s for s in runtime.keyring.epochs()}
    kek = session.scalar(sa.select(Artifact.kek_id).where(Artifact.owner_id == clip.id))
    assert recording.expires_at is not None
    assert kek in epochs[epoch_of(recording.expires_at)].kek_ids  # a draft goes with its call
    _approve(session, runtime, clip, reviewer)
    assert clip.retained_until is not None
    kept_epoch = epoch_of(clip.retained_until)
    keks = set(session.scalars(sa.select(Artifact.kek_id).where(Artifact.owner_id == clip.id)))
    assert keks and keks <= set(
        next(s for s in runtime.keyring.epochs() if s.epoch == kept_epoch).kek_ids
    )
    session.commit()

    clock.advance(days=30)  # the recording is gone and its week is over: its KEK is retired
    delete_expired_recordings(runtime)
    session.expire_all()
    states = {s.epoch: s for s in runtime.keyring.epochs()}
    assert not states[epoch_of(recording.expires_at)].live
    assert open_artifact(session, runtime, clip.id, "clip_audio").read()
