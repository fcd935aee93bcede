"""A runtime over a real SQLite file (WAL, one connection per transaction), as `make run` serves.

The shared fixtures run every test in one rolled-back transaction, where a second transaction
on another connection cannot happen; with this one it does. Import `file_runtime_fixture`
into a test module to use `file_runtime`.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from pydantic import SecretStr

from callvault.config import Settings
from callvault.db import load_models, transaction
from callvault.parts import part_modules
from callvault.policy.models import PolicyVersion
from callvault.runtime import Runtime, set_runtime


@pytest.fixture(name="file_runtime")
def file_runtime_fixture(tmp_path: Path) -> Iterator[Runtime]:
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
