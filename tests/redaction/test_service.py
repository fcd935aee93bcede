"""The pseudonymisation job: success stores the variant; every failure leaves none, says why,
and never touches the original."""

from __future__ import annotations

import io
import json
import tracemalloc
import uuid
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from sqlalchemy.orm import Session

from callvault.clock import FixedClock
from callvault.errors import CallvaultError
from callvault.policy.models import PolicyVersion
from callvault.recordings.models import Recording
from callvault.recordings.service import ingest_recording
from callvault.redaction.asr import Recogniser
from callvault.redaction.model import ModelUnavailable
from callvault.redaction.models import SensitiveMark
from callvault.redaction.service import (
    PSEUDONYMISED_KINDS,
    add_mark,
    failed_jobs,
    job_status,
    pseudonymise_recording,
)
from callvault.runtime import Runtime
from callvault.vault.service import artifact_kinds, open_artifact, store_artifact
from tests.recordings.synthetic import meta
from tests.redaction.conftest import CrashingRecogniser, ScriptedRecogniser, words

AGENT = words("välkommen jag heter Maria vad heter du", 0.5)
CUSTOMER = words("jag heter Lena Holmberg", 5.0)


def _original(session: Session, runtime: Runtime, rid: uuid.UUID) -> bytes:
    return b"".join(open_artifact(session, runtime, rid, "original").iter())


def _state(session: Session, rid: uuid.UUID) -> str:
    session.expire_all()
    recording = session.get(Recording, rid)
    assert recording is not None
    return recording.state


def test_a_successful_run_stores_the_pseudonymised_variant_and_marks_the_recording_ready(
    session: Session, runtime: Runtime, stored_call: str
) -> None:
    rid = uuid.UUID(stored_call)
    before = _original(session, runtime, rid)
    view = pseudonymise_recording(runtime, rid, recogniser=ScriptedRecogniser([AGENT, CUSTOMER]))
    assert view.status == "done" and view.error_code is None and view.spans
    kinds = set(artifact_kinds(session, rid))
    assert {"transcript", "detections", *PSEUDONYMISED_KINDS} <= kinds
    assert _state(session, rid) == "ready"
    assert _original(session, runtime, rid) == before
    pseudo = json.loads(
        b"".join(open_artifact(session, runtime, rid, "pseudonymised_transcript").iter())
    )
    text = " ".join(c["text"] for c in pseudo["channels"])
    assert "Lena" not in text and "Holmberg" not in text and "Maria" not in text
    assert "[NAMN]" in text
    detections = b"".join(open_artifact(session, runtime, rid, "detections").iter()).decode()
    assert "Lena" not in detections  # times and kinds only


def _crash(runtime: Runtime) -> Recogniser:
    return CrashingRecogniser([AGENT, CUSTOMER])


def _model_missing(runtime: Runtime) -> Recogniser | None:
    runtime.settings.asr_model = Path("/nonexistent/whisper")
    return None  # the shared recogniser, which cannot load


def _corrupt_original(runtime: Runtime, rid: uuid.UUID) -> Recogniser:
    with runtime.sessions() as s:
        store_artifact(s, runtime, rid, "original", [b"RIFF\x00\x00garbage"], "audio/flac")
        s.commit()
    return ScriptedRecogniser([AGENT, CUSTOMER])


@pytest.mark.parametrize(
    ("failure", "code"),
    [
        ("model_crashes_mid_call", "recognition_failed"),
        ("model_missing", "asr_model_unavailable"),
        ("corrupt_audio", "invalid_audio"),
    ],
)
def test_a_failure_leaves_no_variant_a_visible_error_and_the_original_untouched(
    session: Session, runtime: Runtime, stored_call: str, failure: str, code: str
) -> None:
    rid = uuid.UUID(stored_call)
    # A variant from an earlier run must not outlive a failed rerun (it may lack a new mark).
    pseudonymise_recording(runtime, rid, recogniser=ScriptedRecogniser([AGENT, CUSTOMER]))
    recogniser: Recogniser | None
    if failure == "model_crashes_mid_call":
        recogniser = _crash(runtime)
    elif failure == "model_missing":
        recogniser = _model_missing(runtime)
    else:
        recogniser = _corrupt_original(runtime, rid)
    before = _original(session, runtime, rid)
    with pytest.raises(CallvaultError) as raised:
        pseudonymise_recording(runtime, rid, recogniser=recogniser)
    assert raised.value.code == code
    session.expire_all()
    assert not set(PSEUDONYMISED_KINDS) & set(artifact_kinds(session, rid))
    view = job_status(session, rid)
    assert view is not None and view.status == "failed" and view.error_code == code
    assert [v.recording_id for v in failed_jobs(session)] == [rid]
    assert _state(session, rid) == "ingested"
    assert _original(session, runtime, rid) == before


def test_a_missing_model_is_a_clear_callvault_error(runtime: Runtime, tmp_path: Path) -> None:
    from callvault.redaction.asr import open_recogniser

    runtime.settings.asr_model = tmp_path / "nothing-here"
    with pytest.raises(ModelUnavailable, match="does not exist"):
        open_recogniser(runtime.settings)


def test_marks_are_always_masked(session: Session, runtime: Runtime, stored_call: str) -> None:
    rid = uuid.UUID(stored_call)
    recording = session.get(Recording, rid)
    assert recording is not None
    add_mark(
        session,
        runtime,
        call_id=recording.call_id,
        start_s=30.0,
        end_s=32.5,
        channel="agent",
        created_by="account:test",
    )
    session.commit()
    pseudonymise_recording(runtime, rid, recogniser=ScriptedRecogniser([[], []]))
    detections = json.loads(b"".join(open_artifact(session, runtime, rid, "detections").iter()))
    marks = [s for s in detections["spans"] if s["entity_type"] == "MARK"]
    assert marks == [
        {"channel": 0, "start": 30.0, "end": 32.5, "entity_type": "MARK", "score": 1.0,
         "source": "mark"}
    ]  # fmt: skip


@pytest.mark.parametrize(("start", "end", "channel"), [(-1, 2, None), (3, 2, None), (0, 1, "x")])
def test_bad_marks_are_refused(
    session: Session, runtime: Runtime, start: float, end: float, channel: str | None
) -> None:
    with pytest.raises(CallvaultError):
        add_mark(session, runtime, call_id="c", start_s=start, end_s=end, channel=channel,
                 created_by="account:test")  # fmt: skip
    assert session.query(SensitiveMark).count() == 0


def test_the_sweep_finds_ingested_recordings_without_a_job_once(
    session: Session, runtime: Runtime, stored_call: str
) -> None:
    from callvault.redaction.service import queue_job, recordings_to_pseudonymise

    rid = uuid.UUID(stored_call)
    assert recordings_to_pseudonymise(session) == [rid]
    queue_job(session, runtime, rid)
    assert recordings_to_pseudonymise(session) == []
    view = job_status(session, rid)
    assert view is not None and view.status == "queued"


def test_the_sweep_leaves_a_fresh_recording_to_the_job_ingest_queued(
    session: Session, runtime: Runtime, clock: FixedClock, stored_call: str
) -> None:
    from callvault.redaction.service import SWEEP_GRACE, recordings_to_pseudonymise

    rid = uuid.UUID(stored_call)
    assert recordings_to_pseudonymise(session, clock.now()) == []
    clock.advance(seconds=SWEEP_GRACE.total_seconds() + 1)
    assert recordings_to_pseudonymise(session, clock.now()) == [rid]


def _crashed_claim(session: Session, runtime: Runtime, rid: uuid.UUID, attempts: int) -> None:
    """What a worker killed mid-pipeline leaves: a running job and a processing recording."""
    from callvault.recordings.service import set_state
    from callvault.redaction.service import queue_job

    job = queue_job(session, runtime, rid)
    job.status = "running"
    job.attempts = attempts
    job.started_at = runtime.clock.now()
    recording = session.get(Recording, rid)
    assert recording is not None
    set_state(session, recording, "processing")
    session.commit()


def _sweep(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    from callvault.redaction import tasks

    queued: list[str] = []
    monkeypatch.setattr(tasks, "pseudonymise", queued.append)
    tasks.pseudonymise_pending.call_local()
    return queued


@pytest.mark.parametrize(
    ("age", "attempts", "queued", "status", "state", "error_code"),
    [
        ("within_lease", 1, False, "running", "processing", None),
        ("past_lease", 1, True, "queued", "ingested", None),
        ("past_lease", 3, False, "failed", "ingested", "worker_lost"),
    ],
)
def test_the_sweep_takes_back_a_job_a_crashed_worker_left_running(
    session: Session,
    runtime: Runtime,
    clock: FixedClock,
    stored_call: str,
    monkeypatch: pytest.MonkeyPatch,
    age: str,
    attempts: int,
    queued: bool,
    status: str,
    state: str,
    error_code: str | None,
) -> None:
    from callvault.redaction.service import lease_for

    rid = uuid.UUID(stored_call)
    recording = session.get(Recording, rid)
    assert recording is not None
    _crashed_claim(session, runtime, rid, attempts)
    lease = lease_for(recording.duration_s).total_seconds()
    clock.advance(seconds=lease - 60 if age == "within_lease" else lease + 60)

    assert _sweep(monkeypatch) == ([stored_call] if queued else [])
    session.expire_all()
    view = job_status(session, rid)
    assert view is not None
    assert (view.status, view.error_code) == (status, error_code)
    assert _state(session, rid) == state
    assert _sweep(monkeypatch) == []  # persisted: a second sweep finds nothing more to do


def test_a_second_delivery_of_a_running_job_does_not_start_it_again(
    session: Session, runtime: Runtime, stored_call: str
) -> None:
    rid = uuid.UUID(stored_call)
    _crashed_claim(session, runtime, rid, 1)
    recogniser = ScriptedRecogniser([AGENT, CUSTOMER])
    view = pseudonymise_recording(runtime, rid, recogniser=recogniser)
    assert view.status == "running" and view.attempts == 1
    assert recogniser.calls == 0


def _long_stereo_flac(path: Path, seconds: int, rate: int) -> None:
    """Two tones with a little noise, written a second at a time (the test holds no whole call)."""
    rng = np.random.default_rng(3)
    with sf.SoundFile(path, "w", samplerate=rate, channels=2, format="FLAC") as out:
        t = np.arange(rate) / rate
        for _ in range(seconds):
            noise = 0.01 * rng.standard_normal((rate, 2))
            out.write(
                np.stack([0.3 * np.sin(2 * np.pi * 300 * t), 0.3 * np.sin(2 * np.pi * 500 * t)], 1)
                + noise
            )


def test_pseudonymising_holds_one_channel_at_16_khz_not_the_whole_call(
    session: Session, runtime: Runtime, policy_version: PolicyVersion, tmp_path: Path
) -> None:
    """Memory follows the recogniser's input (16 kHz, one channel, float32), not the call: the
    original is decrypted, decoded, resampled, masked and encoded block by block."""
    seconds, rate = 120, 48000
    path = tmp_path / "long.flac"
    _long_stereo_flac(path, seconds, rate)
    runtime.keyring.ensure()
    started = runtime.clock.now() - timedelta(hours=1)
    with path.open("rb") as audio:
        rid = ingest_recording(
            session, runtime, audio, meta("call-long", started), actor="system", source="cli"
        ).id
    session.commit()
    recogniser = ScriptedRecogniser([AGENT, CUSTOMER])
    add_mark(session, runtime, call_id="call-long", start_s=60.0, end_s=61.0, channel=None,
             created_by="account:test")  # fmt: skip
    session.commit()

    tracemalloc.start()
    try:
        view = pseudonymise_recording(runtime, rid, recogniser=recogniser)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert view.status == "done"
    one_channel_for_asr = seconds * 16000 * 4
    whole_call_decoded = seconds * rate * 2 * 4
    assert peak < 2 * one_channel_for_asr and peak < whole_call_decoded / 2
    pseudo = b"".join(open_artifact(session, runtime, rid, "pseudonymised_audio").iter())
    masked, masked_rate = sf.read(io.BytesIO(pseudo), dtype="float32")
    assert masked.shape == (seconds * rate, 2) and masked_rate == rate
    original, _ = sf.read(path, dtype="float32", frames=rate)  # the first second: untouched
    assert np.abs(masked[:rate] - original).max() < 1e-4
    marked = masked[60 * rate + 500 : 61 * rate - 500]
    assert np.abs(marked).max() == pytest.approx(0.2, abs=0.01)  # the bleep, on both channels
