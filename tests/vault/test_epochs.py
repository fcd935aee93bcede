"""Key epochs: keys wrapped by their deletion week's KEK, destroyed once the week is over."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import structlog
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from callvault.cli import app
from callvault.clock import FixedClock
from callvault.errors import KeyringError
from callvault.policy.models import PolicyVersion
from callvault.retention.service import delete_expired_recordings
from callvault.runtime import Runtime
from callvault.vault.epochs import epoch_end, epoch_of
from callvault.vault.models import Artifact
from callvault.vault.rotation import rotate_keys
from callvault.vault.service import open_artifact
from tests.retention.factory import RecordingFactory

# 2026-03-08 is a Sunday; 2026-03-09 00:00 UTC starts ISO week 11.
SUNDAY_LAST = datetime(2026, 3, 8, 23, 59, 59, tzinfo=UTC)
MONDAY_FIRST = datetime(2026, 3, 9, 0, 0, tzinfo=UTC)


@pytest.fixture
def make_recording(
    session: Session, vault_runtime: Runtime, policy_version: PolicyVersion
) -> RecordingFactory:
    return RecordingFactory(session, vault_runtime, policy_version)


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    yield
    structlog.reset_defaults()


@pytest.mark.parametrize(
    ("expires_at", "epoch"),
    [
        (SUNDAY_LAST, "2026-W10"),
        (MONDAY_FIRST, "2026-W11"),
        (datetime(2027, 1, 1, tzinfo=UTC), "2026-W53"),
    ],
)
def test_epoch_is_the_iso_week_of_deletion(expires_at: datetime, epoch: str) -> None:
    assert epoch_of(expires_at) == epoch
    assert epoch_end(epoch) > expires_at >= epoch_end(epoch) - timedelta(days=7)


def test_recordings_are_wrapped_by_their_epochs_kek(
    session: Session, vault_runtime: Runtime, make_recording: RecordingFactory
) -> None:
    short = make_recording(expires_at=SUNDAY_LAST)
    longer = make_recording(expires_at=SUNDAY_LAST + timedelta(days=275))  # a longer purpose
    epochs = {s.epoch: s for s in vault_runtime.keyring.epochs()}
    assert set(epochs) == {"2026-W10", "2026-W50"}
    for recording, epoch in ((short, "2026-W10"), (longer, "2026-W50")):
        keks = {a.kek_id for a in session.query(Artifact).filter_by(owner_id=recording.id)}
        assert keks == {epochs[epoch].kek_ids[-1]}
    assert vault_runtime.keyring.active_kek_id() not in {
        k for s in epochs.values() for k in s.kek_ids
    }


def test_sweep_destroys_an_epochs_kek_only_once_its_week_is_over(
    session: Session,
    vault_runtime: Runtime,
    make_recording: RecordingFactory,
    clock: FixedClock,
) -> None:
    clock.set(SUNDAY_LAST - timedelta(days=80))
    first = make_recording(expires_at=SUNDAY_LAST - timedelta(days=2))
    last = make_recording(expires_at=SUNDAY_LAST)
    kept = make_recording(expires_at=MONDAY_FIRST)
    session.commit()
    clock.set(SUNDAY_LAST)  # `last` is due now, but the week is not over
    delete_expired_recordings(vault_runtime)
    assert [s.live for s in vault_runtime.keyring.epochs()] == [True, True]
    clock.set(MONDAY_FIRST)  # W10 is over; `kept` (W11) is due but W11 is not over
    delete_expired_recordings(vault_runtime)
    w10, w11 = vault_runtime.keyring.epochs()
    assert not w10.live and w11.live
    assert all(not vault_runtime.keyring.has_kek(k) for k in w10.kek_ids)
    with pytest.raises(KeyringError):
        vault_runtime.keyring.wrap(b"k" * 32, b"x", "2026-W10")
    result = CliRunner().invoke(app, ["keys", "epochs", "--json"])
    assert result.exit_code == 0, result.output
    listed = {e["epoch"]: e for e in json.loads(result.stdout.strip().splitlines()[-1])}
    assert listed["2026-W10"]["kek"] == "destroyed" and listed["2026-W10"]["recordings"] == 0
    assert listed["2026-W10"]["week_start"] == "2026-03-02"
    assert listed["2026-W11"]["kek"] == "live"
    assert first.id != last.id != kept.id


def test_an_epoch_with_a_live_recording_keeps_its_kek(
    session: Session,
    vault_runtime: Runtime,
    make_recording: RecordingFactory,
    clock: FixedClock,
) -> None:
    from callvault.retention.epochs import retire_expired_epochs

    make_recording(expires_at=SUNDAY_LAST)
    session.commit()
    assert retire_expired_epochs(vault_runtime, MONDAY_FIRST) == []  # not deleted yet
    assert vault_runtime.keyring.epochs()[0].live


def test_rotation_keeps_keys_in_their_epochs(
    session: Session, vault_runtime: Runtime, make_recording: RecordingFactory
) -> None:
    recording = make_recording(expires_at=SUNDAY_LAST + timedelta(days=30))
    session.commit()
    before = vault_runtime.keyring.epochs()[0]
    report = rotate_keys(vault_runtime)
    after = vault_runtime.keyring.epochs()[0]
    assert after.epoch == before.epoch and len(after.kek_ids) == 2
    session.expire_all()
    keks = {a.kek_id for a in session.query(Artifact).filter_by(owner_id=recording.id)}
    assert keks == {after.kek_ids[-1]}
    assert report.data_keys == 3  # the factory's three artifacts
    assert open_artifact(session, vault_runtime, recording.id, "original").read()


def test_a_later_policy_version_with_longer_retention_lands_in_a_later_epoch(
    session: Session, vault_runtime: Runtime, policy_version: PolicyVersion, clock: FixedClock
) -> None:
    """Through ingest itself: the same call under version 1 (90 days) and version 2 (180)."""
    import io

    from callvault.policy.models import PolicyPurpose
    from callvault.recordings.models import Recording
    from callvault.recordings.service import ingest_recording
    from callvault.vault.fields import sealed_kek_id
    from tests.recordings.synthetic import meta, wav

    first = ingest_recording(
        session,
        vault_runtime,
        io.BytesIO(wav(seed=1)),
        meta("epoch-v1", clock.now() - timedelta(days=2)),
        actor="system",
        source="cli",
    )
    later = PolicyVersion(
        number=2,
        effective_from=clock.now() - timedelta(days=1),
        approved_by=None,
        change_note="longer training retention",
        text_sv="Testpolicy 2.",
        text_en="Test policy 2.",
        prompt_sv=policy_version.prompt_sv,
        prompt_en=policy_version.prompt_en,
        created_at=clock.now() - timedelta(days=1),
    )
    later.purposes.append(
        PolicyPurpose(
            code="training",
            description_sv="t",
            description_en="t",
            retention_days=180,
            variants=["pseudonymised"],
        )
    )
    session.add(later)
    session.flush()
    second = ingest_recording(
        session,
        vault_runtime,
        io.BytesIO(wav(seed=2)),
        meta("epoch-v2", clock.now() - timedelta(hours=1), purposes=["training"]),
        actor="system",
        source="cli",
    )
    states = {s.epoch: s for s in vault_runtime.keyring.epochs()}
    epochs = []
    for result in (first, second):
        recording = session.get(Recording, result.id)
        assert recording is not None and recording.caller_number_enc is not None
        epoch = epoch_of(recording.expires_at)
        epochs.append(epoch)
        keks = {a.kek_id for a in session.query(Artifact).filter_by(owner_id=result.id)}
        keks.add(sealed_kek_id(recording.caller_number_enc))
        assert keks == {states[epoch].kek_ids[-1]}
    assert epochs[1] > epochs[0]
    assert epoch_end(epochs[1]) - epoch_end(epochs[0]) >= timedelta(days=84)
