"""Synthetic recordings for the page tests: ingested through the vault, with the artefacts the
redaction pipeline would leave (pseudonymised audio, transcripts and detections)."""

from __future__ import annotations

import io
import json
import uuid
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import soundfile as sf
from sqlalchemy.orm import Session

from callvault.recordings.models import Recording, RecordingState
from callvault.recordings.service import IngestMetadata, ingest_recording, set_state
from callvault.runtime import Runtime

RATE = 8000
MASKED = ((1.0, 1.6), (2.4, 2.9))


def tone_wav(seconds: float, seed: int, silence: tuple[tuple[float, float], ...] = ()) -> bytes:
    """Two channels of tones (agent, customer), with `silence` intervals zeroed (the masking)."""
    t = np.arange(int(seconds * RATE)) / RATE
    rng = np.random.default_rng(seed)
    columns = [
        0.3 * np.sin(2 * np.pi * (220 + 60 * c + seed % 40) * t) * (0.6 + 0.4 * np.sin(t * 3 + c))
        + 0.01 * rng.standard_normal(len(t))
        for c in range(2)
    ]
    samples = np.stack(columns, axis=1)
    for start, end in silence:
        samples[int(start * RATE) : int(end * RATE)] = 0.0
    out = io.BytesIO()
    sf.write(out, samples, RATE, format="FLAC", subtype="PCM_16")
    return out.getvalue()


def transcript_doc(
    turns: list[tuple[int, str, list[tuple[str, float]]]], *, pseudonymised: bool
) -> dict[str, Any]:
    """A `callvault.transcript/1` document, as the redaction pipeline writes it."""
    channels: dict[int, dict[str, Any]] = {}
    for channel, role, words in turns:
        entry = channels.setdefault(channel, {"channel": channel, "role": role, "words": []})
        entry["words"] += [{"text": t, "start": at, "end": at + 0.1} for t, at in words]
    for entry in channels.values():
        entry["text"] = " ".join(w["text"] for w in entry["words"])
    return {
        "format": "callvault.transcript/1",
        "language": "sv",
        "pseudonymised": pseudonymised,
        "channels": [channels[c] for c in sorted(channels)],
    }


def add_recording(
    session: Session,
    runtime: Runtime,
    *,
    call_id: str,
    started_at: datetime,
    caller: str = "+46701234567",
    agent_id: str = "agent-007",
    team: str = "support-1",
    purposes: list[str] | None = None,
    seconds: float = 4.0,
    seed: int = 0,
) -> uuid.UUID:
    """One ready recording with both variants, transcripts and detections."""
    from callvault.vault.service import store_artifact

    meta = IngestMetadata.model_validate(
        {
            "call_id": call_id,
            "language": "sv",
            "from": caller,
            "to": "+46812345678",
            "agent": {"id": agent_id, "name": "Agnes Testsson"},
            "customer": {"name": "Kalle Exempel", "phone": caller},
            "started_at": started_at.isoformat(),
            "consent": {
                "digit": "1",
                "prompt_version": "v1",
                "at": (started_at - timedelta(seconds=20)).isoformat(),
            },
            "purposes": purposes,
            "team": team,
        }
    )
    result = ingest_recording(
        session,
        runtime,
        io.BytesIO(tone_wav(seconds, seed)),
        meta,
        actor="system",
        source="cli",
    )
    rid = result.id
    store_artifact(
        session,
        runtime,
        rid,
        "pseudonymised_audio",
        [tone_wav(seconds, seed, MASKED)],
        "audio/flac",
    )
    transcript = transcript_doc(
        [
            (0, "agent", [("Välkommen", 0.2), ("till", 0.5), ("kundtjänst.", 0.7)]),
            (1, "customer", [("Hej,", 1.0), ("jag", 1.2), ("heter", 1.3), ("Kalle", 1.4),
                             ("Exempel.", 1.5)]),
            (0, "agent", [("Ditt", 2.4), ("nummer", 2.5), ("är", 2.6), ("070-123", 2.7),
                          ("45", 2.8), ("67?", 2.85)]),
        ],
        pseudonymised=False,
    )  # fmt: skip
    pseudonymised = transcript_doc(
        [
            (0, "agent", [("Välkommen", 0.2), ("till", 0.5), ("kundtjänst.", 0.7)]),
            (1, "customer", [("Hej,", 1.0), ("jag", 1.2), ("heter", 1.3), ("[NAMN]", 1.4)]),
            (0, "agent", [("Ditt", 2.4), ("nummer", 2.5), ("är", 2.6), ("[TELEFON]", 2.7)]),
        ],
        pseudonymised=True,
    )
    detections = {
        "format": "callvault.detections/1",
        "spans": [
            {"channel": 1, "start": s, "end": e, "entity_type": t, "score": 0.9, "source": "crm"}
            for (s, e), t in zip(MASKED, ("PERSON", "PHONE"), strict=True)
        ],
    }
    for kind, doc in (
        ("transcript", transcript),
        ("pseudonymised_transcript", pseudonymised),
        ("detections", detections),
    ):
        store_artifact(session, runtime, rid, kind, [json.dumps(doc).encode()], "application/json")
    recording = session.get(Recording, rid)
    assert recording is not None
    set_state(session, recording, RecordingState.PROCESSING)
    set_state(session, recording, RecordingState.READY)
    session.flush()
    return uuid.UUID(str(rid))
