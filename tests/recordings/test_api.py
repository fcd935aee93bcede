"""POST /api/v1/recordings: token-authenticated multipart ingest with clear 4xx refusals."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import numpy as np
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from callvault.accounts.tokens import create_service_token
from callvault.clock import FixedClock
from callvault.recordings.models import Recording
from callvault.runtime import Runtime
from callvault.vault.models import Artifact
from tests.recordings.synthetic import encode, meta_doc, wav

URL = "/api/v1/recordings"


@pytest.fixture
def client(ingest_runtime: Runtime) -> Iterator[TestClient]:
    from callvault.app import create_app

    with TestClient(create_app(ingest_runtime)) as test_client:
        yield test_client


@pytest.fixture
def token(session: Session, clock: FixedClock) -> str:
    return create_service_token(session, clock, name="pbx", scope="ingest").token


def _post(client: TestClient, token: str | None, audio: bytes, meta: Any, **headers: str) -> Any:
    auth = {"Authorization": f"Bearer {token}"} if token else {}
    return client.post(
        URL,
        files={"audio": ("call.wav", audio, "audio/wav")},
        data={"meta": meta if isinstance(meta, str) else json.dumps(meta)},
        headers={**auth, **headers},
    )


def test_a_consented_recording_is_created_then_found_again(
    client: TestClient, token: str, started: datetime, session: Session
) -> None:
    audio, meta = wav(1.0), meta_doc("call-api-1", started)
    first = _post(client, token, audio, meta)
    assert first.status_code == 201, first.text
    body = first.json()
    assert body["state"] == "ingested" and body["created"] is True
    again = _post(client, token, audio, meta)
    assert again.status_code == 200
    assert again.json() == {**body, "created": False}
    assert session.scalar(sa.select(sa.func.count()).select_from(Recording)) == 1


def test_metadata_may_come_as_a_json_file_part(
    client: TestClient, token: str, started: datetime
) -> None:
    reply = client.post(
        URL,
        files={
            "audio": ("call.wav", wav(1.0), "audio/wav"),
            "meta": ("meta.json", json.dumps(meta_doc("call-api-2", started)), "application/json"),
        },
        headers={"Authorization": f"Bearer {token}"},
    )
    assert reply.status_code == 201, reply.text


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"consent": None}, 422, "consent_missing"),
        (
            {"consent": {"digit": "2", "prompt_version": "v1", "at": "2026-03-02T07:00:00+00:00"}},
            422,
            "consent_missing",
        ),
        ({"audio": b"this is not audio at all" * 10}, 415, "invalid_audio"),
        ({"audio": b""}, 415, "invalid_audio"),
        (
            {"audio": encode(np.zeros((65535, 2)), "FLAC", rate=655350)},
            422,
            "unsupported_sample_rate",
        ),
        ({"meta": "{not json"}, 422, "invalid_input"),
        ({"purposes": ["marketing"]}, 422, "invalid_input"),
        ({"team": "another"}, 409, "conflict"),
    ],
    ids=[
        "no-consent",
        "pressed-2",
        "not-audio",
        "empty",
        "655350-hz",
        "bad-json",
        "bad-purpose",
        "conflict",
    ],
)
def test_refusals_answer_a_clear_4xx_and_store_nothing(
    client: TestClient,
    token: str,
    started: datetime,
    session: Session,
    change: dict[str, Any],
    status: int,
    code: str,
) -> None:
    assert _post(client, token, wav(1.0), meta_doc("call-0", started)).status_code == 201
    blobs = sorted(client.app.state.runtime.blobs.names())  # type: ignore[attr-defined]
    change = dict(change)
    audio = change.pop("audio", wav(1.0, seed=5))
    meta: Any = change.pop("meta", None) or meta_doc(
        "call-0" if code == "conflict" else "call-1", started, **change
    )
    reply = _post(client, token, audio, meta)
    assert reply.status_code == status, reply.text
    assert reply.json()["error"] == code
    assert "46701234567" not in reply.text and "Kalle" not in reply.text
    assert session.scalar(sa.select(sa.func.count()).select_from(Recording)) == 1
    assert session.scalar(sa.select(sa.func.count()).select_from(Artifact)) == 2
    assert sorted(client.app.state.runtime.blobs.names()) == blobs  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "auth",
    [None, "Bearer cvt_not-a-real-token", "Basic dXNlcjpwYXNz", "telephony"],
    ids=["none", "unknown-token", "basic", "wrong-scope"],
)
def test_ingest_needs_a_service_token_with_the_ingest_scope(
    client: TestClient,
    session: Session,
    clock: FixedClock,
    started: datetime,
    auth: str | None,
) -> None:
    if auth == "telephony":
        other = create_service_token(session, clock, name="ivr", scope="telephony").token
        auth = f"Bearer {other}"
    headers = {"Authorization": auth} if auth else {}
    reply = _post(client, None, wav(1.0), meta_doc("call-1", started), **headers)
    assert reply.status_code == 401
    assert session.scalar(sa.select(sa.func.count()).select_from(Recording)) == 0


def test_an_upload_over_the_limit_is_refused_from_its_length(
    client: TestClient, token: str, started: datetime, ingest_runtime: Runtime
) -> None:
    ingest_runtime.settings.max_upload_bytes = 1000
    reply = _post(client, token, wav(2.0), meta_doc("call-1", started))
    assert reply.status_code == 413
    assert reply.json()["error"] == "too_large"
    assert list(ingest_runtime.blobs.names()) == []


def test_a_body_without_the_audio_part_is_refused(
    client: TestClient, token: str, started: datetime
) -> None:
    reply = client.post(
        URL,
        data={"meta": json.dumps(meta_doc("call-1", started))},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert reply.status_code == 422


def test_a_streamed_upload_without_a_length_is_cut_off_at_the_limit(
    client: TestClient, token: str, ingest_runtime: Runtime
) -> None:
    ingest_runtime.settings.max_upload_bytes = 100_000
    sent = []

    def body() -> Iterator[bytes]:
        yield (
            b'--xyz\r\nContent-Disposition: form-data; name="audio"; filename="a.wav"\r\n'
            b"Content-Type: audio/wav\r\n\r\n"
        )
        for _ in range(1000):  # 64 MB if nobody stopped reading
            sent.append(1)
            yield b"\0" * 65536

    reply = client.post(
        URL,
        content=body(),
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": "multipart/form-data; boundary=xyz",
        },
    )
    assert reply.status_code == 413
    assert list(ingest_runtime.blobs.names()) == []
