"""Ingest against a real SQLite file, as `make run` serves: the token's "last used" is written
in a transaction apart, on another connection."""

from __future__ import annotations

import json
from datetime import timedelta

from fastapi.testclient import TestClient

from callvault.accounts.tokens import create_service_token
from callvault.app import create_app
from callvault.db import transaction
from callvault.runtime import Runtime
from tests.file_runtime import file_runtime_fixture  # noqa: F401 - provides `file_runtime`
from tests.recordings.synthetic import meta_doc, wav


def test_the_first_ingest_with_a_fresh_token_is_stored_not_a_500(file_runtime: Runtime) -> None:
    with transaction(file_runtime.sessions) as session:
        token = create_service_token(
            session, file_runtime.clock, name="crm", scope="ingest"
        ).token  # never used yet: this request writes its "last used" in a transaction apart
    start = file_runtime.clock.now() - timedelta(minutes=5)
    with TestClient(create_app(file_runtime)) as client:
        answer = client.post(
            "/api/v1/recordings",
            files={"audio": ("call.wav", wav(1.0), "audio/wav")},
            data={"meta": json.dumps(meta_doc("call-file-db-1", start))},
            headers={"Authorization": f"Bearer {token}"},
        )
    assert answer.status_code == 201, answer.text
