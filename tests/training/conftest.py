"""Training fixtures: calls with a real pseudonymised variant (FLAC noise and a transcript),
training managers with training grants, and signed-in clients for several people at once."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from datetime import timedelta

import numpy as np
import pytest
import soundfile as sf
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from callvault.access import grants as grant_service
from callvault.access.models import AccessGrant, ScopeKind
from callvault.accounts.models import Account
from callvault.accounts.roles import Role
from callvault.clock import FixedClock
from callvault.recordings.models import Recording
from callvault.runtime import Runtime
from tests.access import conftest as access_fixtures
from tests.access.conftest import MakeAccount, MakeRecording, principal_of
from tests.accounts.conftest import login, parts_app

keyring_ready = access_fixtures.keyring_ready
make_account = access_fixtures.make_account
make_recording = access_fixtures.make_recording
dpo = access_fixtures.dpo

RATE = 8000
REASON = {"X-Access-Reason": "training session on cancellations"}
LABELLED = {30: "[NAMN]", 31: "[NAMN]", 60: "[OHÖRBART]"}  # word index -> label

MakeCall = Callable[..., Recording]
ClientFor = Callable[[Account], TestClient]


def noise(seconds: float, channels: int = 2, seed: int = 7) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.uniform(-0.5, 0.5, (int(seconds * RATE), channels))).astype(np.float32)


def flac(samples: np.ndarray) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, samples, RATE, format="FLAC", subtype="PCM_16")
    return buf.getvalue()


def transcript(seconds: float) -> dict[str, object]:
    """Words every half second on the customer's channel, a few of them labels; the words
    `uppsägning` and `abonnemang` come early (search)."""
    words = []
    for i in range(int(seconds * 2) - 1):
        text = LABELLED.get(i, {4: "uppsägning", 5: "abonnemang"}.get(i, f"ord{i}"))
        words.append({"text": text, "start": i * 0.5, "end": i * 0.5 + 0.4})
    return {
        "format": "callvault.transcript/1",
        "call_id": None,
        "language": "sv",
        "pseudonymised": True,
        "channels": [
            {"channel": 0, "role": "agent", "text": "", "words": []},
            {
                "channel": 1,
                "role": "customer",
                "text": " ".join(str(w["text"]) for w in words),
                "words": words,
            },
        ],
    }


@pytest.fixture
def make_call(session: Session, runtime: Runtime, make_recording: MakeRecording) -> MakeCall:
    """A recording of `seconds` with a pseudonymised variant (unless `ready=False`)."""

    def make(*, seconds: float = 180.0, ready: bool = True, **kwargs: object) -> Recording:
        from callvault.vault.service import store_artifact

        recording = make_recording(artifacts=False, **kwargs)
        recording.duration_s = seconds
        recording.sample_rate = RATE
        session.flush()
        store_artifact(
            session, runtime, recording.id, "original", [flac(noise(seconds, seed=1))], "audio/flac"
        )
        if ready:
            store_artifact(
                session,
                runtime,
                recording.id,
                "pseudonymised_audio",
                [flac(noise(seconds))],
                "audio/flac",
            )
            store_artifact(
                session,
                runtime,
                recording.id,
                "pseudonymised_transcript",
                [json.dumps(transcript(seconds), ensure_ascii=False).encode()],
                "application/json",
            )
            detections = {
                "format": "callvault.detections/1",
                "spans": [
                    {
                        "channel": 1,
                        "start": 20.0,
                        "end": 20.8,
                        "entity_type": "PERSON",
                        "score": 0.3,
                        "source": "model",
                    }
                ],
            }
            store_artifact(
                session,
                runtime,
                recording.id,
                "detections",
                [json.dumps(detections).encode()],
                "application/json",
            )
        return recording

    return make


@pytest.fixture
def training_grant(
    session: Session, runtime: Runtime, clock: FixedClock, dpo: Account
) -> Callable[..., AccessGrant]:
    def make(
        grantee: Account,
        *,
        scope: grant_service.GrantScope | None = None,
        purpose: str = "training",
        variant: str = "pseudonymised",
    ) -> AccessGrant:
        return grant_service.create_grant(
            session,
            runtime,
            principal_of(dpo),
            grantee_id=grantee.id,
            purpose=purpose,
            variant=variant,
            scope=scope or grant_service.GrantScope(ScopeKind.ALL),
            valid_from=clock.now(),
            valid_until=clock.now() + timedelta(days=30),
            source="test",
        )

    return make


@pytest.fixture
def author(make_account: MakeAccount, training_grant: Callable[..., AccessGrant]) -> Account:
    account = make_account(Role.TRAINING_MANAGER)
    training_grant(account)
    return account


@pytest.fixture
def reviewer(make_account: MakeAccount, training_grant: Callable[..., AccessGrant]) -> Account:
    account = make_account(Role.TRAINING_MANAGER)
    training_grant(account)
    return account


@pytest.fixture
def app(runtime: Runtime) -> FastAPI:
    return parts_app(runtime, ("accounts", "access", "training"))


@pytest.fixture
def client_for(app: FastAPI, clock: FixedClock) -> Iterator[ClientFor]:
    opened: list[TestClient] = []

    def make(account: Account) -> TestClient:
        client = TestClient(app)
        client.__enter__()
        opened.append(client)
        client.headers.update(login(client, account, clock))
        return client

    yield make
    for client in opened:
        client.__exit__(None, None, None)


def clip_body(recording: Recording, **overrides: object) -> dict[str, object]:
    body: dict[str, object] = {
        "recording_id": str(recording.id),
        "start": 10.0,
        "end": 40.0,
        "title": "Kund vill säga upp abonnemanget",
        "tags": ["uppsägning"],
        "lesson": "Lyssna, bekräfta, erbjud alternativ innan uppsägningen registreras.",
    }
    body.update(overrides)
    return body
