"""Ingest against a real SQLite file (WAL, one connection per transaction), as `make run` serves.

The shared fixtures run every test in one rolled-back transaction, where a second transaction
on another connection cannot happen; here it does: the token's "last used" is written apart.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from pydantic import SecretStr

from callvault.accounts.tokens import create_service_token
from callvault.app import create_app
from callvault.config import Settings
from callvault.db import load_models, transaction
from callvault.parts import part_modules
from callvault.policy.models import PolicyVersion
from callvault.runtime import Runtime, set_runtime
from tests.recordings.synthetic import meta_doc, wav


@pytest.fixture
def file_runtime(tmp_path: Path) -> Iterator[Runtime]:
    settings = Settings(
        env="test",
        data_dir=tmp_path,
        database_url=f"sqlite:///{tmp_path / 'callvault.db'}",
        secret_key=SecretStr(secrets.token_urlsafe(48)),
    )
    runtime = Runtime.from_settings(settings)
    set_runtime(runtime)
    load_models().create_all(runtime.engine)
    for module in part_modules("setup"):
        module.initialise(runtime)
    with transaction(runtime.sessions) as session:
        session.execute(
            sa.update(PolicyVersion).values(effective_from=sa.func.datetime("now", "-30 days"))
        )
    try:
        yield runtime
    finally:
        set_runtime(None)
        runtime.engine.dispose()


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
