"""Recorded prompts: uploaded by the DPO, kept with their SHA-256, served for <Play>."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable

import numpy as np
import pytest
import soundfile as sf
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from callvault.accounts.auth import Principal
from callvault.errors import IntegrityError
from callvault.policy.models import PolicyVersion
from callvault.policy.prompt_audio import current_prompt_audio, read_prompt_audio
from callvault.runtime import Runtime
from tests.policy.conftest import principal

Login = Callable[[Principal | None], None]


def wav(seconds: float = 0.5, freq: float = 440.0) -> bytes:
    t = np.arange(int(8000 * seconds)) / 8000
    buffer = io.BytesIO()
    sf.write(buffer, 0.2 * np.sin(2 * np.pi * freq * t), 8000, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


def upload(
    client: TestClient, data: bytes, media_type: str = "audio/wav", lang: str = "sv"
) -> object:
    return client.post(
        f"/api/v1/policy/versions/1/prompt-audio/{lang}",
        content=data,
        headers={"Content-Type": media_type},
    )


def test_dpo_upload_is_served_unchanged(
    client: TestClient,
    login_as: Login,
    dpo: Principal,
    session: Session,
    first_version: PolicyVersion,
) -> None:
    login_as(dpo)
    audio = wav()
    response = upload(client, audio)
    assert response.status_code == 201, response.text  # type: ignore[attr-defined]
    body = response.json()  # type: ignore[attr-defined]
    assert body["sha256"] == hashlib.sha256(audio).hexdigest()
    login_as(None)
    served = client.get(body["url"])
    assert served.status_code == 200
    assert served.content == audio
    assert served.headers["content-type"] == "audio/wav"
    described = client.get("/api/v1/policy/versions/1/prompt-audio/sv").json()
    assert described["audio"]["sha256"] == body["sha256"]


def test_a_newer_upload_is_played_and_the_older_one_kept(
    client: TestClient,
    login_as: Login,
    dpo: Principal,
    session: Session,
    runtime: Runtime,
    first_version: PolicyVersion,
) -> None:
    login_as(dpo)
    first = upload(client, wav(freq=440)).json()  # type: ignore[attr-defined]
    runtime.clock.advance(minutes=1)  # type: ignore[attr-defined]
    second = upload(client, wav(freq=880)).json()  # type: ignore[attr-defined]
    current = current_prompt_audio(session, first_version.id, "sv")
    assert current is not None and str(current.id) == second["id"]
    assert client.get(first["url"]).status_code == 200  # evidence may still name it


@pytest.mark.parametrize(
    ("data", "media_type", "status"),
    [
        (b"RIFF....WAVE" + b"\0" * 100, "text/plain", 415),
        (b"not audio at all", "audio/wav", 415),
        (b"", "audio/wav", 422),
    ],
)
def test_bad_uploads_are_refused(
    client: TestClient, login_as: Login, dpo: Principal, data: bytes, media_type: str, status: int
) -> None:
    login_as(dpo)
    assert upload(client, data, media_type).status_code == status  # type: ignore[attr-defined]


@pytest.mark.parametrize(("role", "status"), [(None, 401), ("qa_manager", 403)])
def test_only_the_dpo_uploads(
    client: TestClient, login_as: Login, role: str | None, status: int
) -> None:
    login_as(principal(role) if role else None)
    assert upload(client, wav()).status_code == status  # type: ignore[attr-defined]


def test_tampered_audio_is_not_served(
    client: TestClient,
    login_as: Login,
    dpo: Principal,
    session: Session,
    runtime: Runtime,
    first_version: PolicyVersion,
) -> None:
    login_as(dpo)
    body = upload(client, wav()).json()  # type: ignore[attr-defined]
    row = current_prompt_audio(session, first_version.id, "sv")
    assert row is not None and str(row.id) == body["id"]
    runtime.blobs.put(row.blob_name, [wav(freq=1000)])
    with pytest.raises(IntegrityError):
        read_prompt_audio(session, runtime, row.id)
    assert client.get(body["url"]).status_code == 500
