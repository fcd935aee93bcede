"""Leak reports pull a clip out of the library and mark it and its recording; every marked
range of a clip's audio is masked (checked on the samples)."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
import soundfile as sf
import sqlalchemy as sa
from sqlalchemy.orm import Session

from callvault.accounts.models import Account
from callvault.redaction.models import SensitiveMark
from callvault.runtime import Runtime
from callvault.training.leaks import leak_reports_per_week, remask_variant
from callvault.training.models import LeakReport
from callvault.vault.service import open_artifact
from tests.training.conftest import RATE, REASON, ClientFor, MakeCall, clip_body, noise


def _samples(data: bytes) -> np.ndarray:
    samples, rate = sf.read(io.BytesIO(data), always_2d=True, dtype="float32")
    assert rate == RATE
    return samples


def _is_masked(segment: np.ndarray, mask: str) -> bool:
    """Silence is zero; a bleep is a 1 kHz tone of level 0.2 (no trace of the noise left)."""
    if mask == "silence":
        return bool(np.max(np.abs(segment)) < 1e-4)
    for channel in segment.T:
        spectrum = np.abs(np.fft.rfft(channel))
        peak = np.fft.rfftfreq(len(channel), 1 / RATE)[int(np.argmax(spectrum))]
        if abs(peak - 1000) > 20 or np.max(np.abs(channel)) > 0.21:
            return False
    return True


@pytest.mark.parametrize("mask", ["bleep", "silence"])
def test_every_marked_range_of_the_clip_audio_is_masked(
    mask: str,
    runtime: Runtime,
    client_for: ClientFor,
    author: Account,
    make_call: MakeCall,
) -> None:
    runtime.settings.redaction_mask = mask  # type: ignore[misc]
    recording = make_call()
    client = client_for(author)
    clip = client.post("/api/v1/training/clips", json=clip_body(recording)).json()
    marks = [(1.0, 2.25), (7.5, 9.0), (20.0, 20.6), (29.0, 30.0)]
    response = client.post(
        f"/api/v1/training/clips/{clip['id']}/marks",
        json={"marks": [{"start": a, "end": b} for a, b in marks]},
    )
    assert response.status_code == 200, response.text
    audio = _samples(
        client.get(f"/api/v1/training/clips/{clip['id']}/audio", headers=REASON).content
    )
    source = noise(180.0)[10 * RATE : 40 * RATE]
    edge = int(0.01 * RATE)  # the bleep's fades and sample rounding
    for start, end in marks:
        a, b = int(start * RATE) + edge, int(end * RATE) - edge
        assert _is_masked(audio[a:b], mask), (start, end)
    # and what is not marked is the pseudonymised audio as it was
    assert np.max(np.abs(audio[3 * RATE : 7 * RATE] - source[3 * RATE : 7 * RATE])) < 1e-3
    transcript = client.get(f"/api/v1/training/clips/{clip['id']}/transcript", headers=REASON)
    words = transcript.json()["channels"][1]["words"]
    assert any(w["text"] == "[MARKERAT]" and w["start"] <= 1.5 <= w["end"] for w in words)


def test_a_leak_report_pulls_the_clip_from_the_library_and_marks_clip_and_recording(
    session: Session,
    runtime: Runtime,
    client_for: ClientFor,
    author: Account,
    reviewer: Account,
    make_call: MakeCall,
) -> None:
    recording = make_call()
    clip = client_for(author).post("/api/v1/training/clips", json=clip_body(recording)).json()
    url = f"/api/v1/training/clips/{clip['id']}"
    other = client_for(reviewer)
    other.get(f"{url}/audio", headers=REASON)
    other.post(f"{url}/review", json={"decision": "approve", "comment": "ok"})
    listed = other.get("/api/v1/training/clips", params={"state": "approved"}).json()["items"]
    assert [c["id"] for c in listed] == [clip["id"]]

    report = other.post(f"{url}/leak-reports", json={"at": 12.0})
    assert report.status_code == 201, report.text
    assert report.json()["clip_state"] != "approved"
    assert other.get("/api/v1/training/clips", params={"state": "approved"}).json()["items"] == []
    detail = other.get(url).json()
    assert detail["state"] == "draft" and detail["version"] == 2
    assert detail["marks"] == [{"start": 10.5, "end": 13.5, "source": "leak_report"}]
    audio = _samples(other.get(f"{url}/audio", headers=REASON).content)
    assert _is_masked(audio[int(10.6 * RATE) : int(13.4 * RATE)], "bleep")

    marks = session.scalars(
        sa.select(SensitiveMark).where(SensitiveMark.call_id == recording.call_id)
    ).all()
    assert [(m.start_s, m.end_s, m.channel) for m in marks] == [(20.5, 23.5, None)]
    assert remask_variant(runtime, recording.id) == 1
    variant = _samples(open_artifact(session, runtime, recording.id, "pseudonymised_audio").read())
    assert _is_masked(variant[int(20.6 * RATE) : int(23.4 * RATE)], "bleep")
    assert np.max(np.abs(variant[: 20 * RATE] - noise(180.0)[: 20 * RATE])) < 1e-3
    words = json.loads(
        open_artifact(session, runtime, recording.id, "pseudonymised_transcript").read()
    )["channels"][1]["words"]
    assert any(w["text"] == "[MARKERAT]" and w["start"] <= 22.0 <= w["end"] for w in words)
    assert session.scalar(sa.select(sa.func.count()).select_from(LeakReport)) == 1
    weeks = leak_reports_per_week(session, runtime.clock.now())
    assert len(weeks) == 12 and weeks[-1][1] == 1


def test_a_leak_report_outside_the_clip_is_refused(
    session: Session, client_for: ClientFor, author: Account, make_call: MakeCall
) -> None:
    recording = make_call()
    client = client_for(author)
    clip = client.post("/api/v1/training/clips", json=clip_body(recording)).json()
    response = client.post(f"/api/v1/training/clips/{clip['id']}/leak-reports", json={"at": 31})
    assert response.status_code == 422
    assert session.scalar(sa.select(sa.func.count()).select_from(LeakReport)) == 0


def test_a_leak_in_a_pseudonymised_recording_marks_the_clips_that_hold_it(
    client_for: ClientFor, author: Account, make_call: MakeCall
) -> None:
    recording = make_call()
    client = client_for(author)
    holding = client.post("/api/v1/training/clips", json=clip_body(recording)).json()
    elsewhere = client.post(
        "/api/v1/training/clips", json=clip_body(recording, start=100, end=120)
    ).json()
    response = client.post(
        f"/api/v1/training/recordings/{recording.id}/leak-reports", json={"at": 39.5}
    )
    assert response.status_code == 201
    assert client.get(f"/api/v1/training/clips/{holding['id']}").json()["marks"] == [
        {"start": 28.0, "end": 30.0, "source": "leak_report"}
    ]
    assert client.get(f"/api/v1/training/clips/{elsewhere['id']}").json()["marks"] == []
