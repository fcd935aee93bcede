"""The migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Engine

from callvault.db import alembic_config, load_models


def test_migrations_match_the_models(engine: Engine) -> None:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        differences = compare_metadata(context, load_models())
    assert differences == []


def test_audit_trail_is_append_only_in_the_migrated_database(engine: Engine) -> None:
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT seq FROM audit_head WHERE id = 1")).scalar() == 0
        trigger_names = (
            "SELECT name FROM sqlite_master WHERE type = 'trigger'"
            if conn.dialect.name == "sqlite"
            else "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal"
        )
        triggers = set(conn.execute(sa.text(trigger_names)).scalars())
    assert any(t.startswith("audit_entries_") for t in triggers)
    assert any(t.startswith("audit_checkpoints_") for t in triggers)


def test_downgrade_to_nothing_and_upgrade_again(tmp_path: object) -> None:
    from pathlib import Path

    from callvault.db import make_engine

    assert isinstance(tmp_path, Path)
    eng = make_engine(f"sqlite:///{tmp_path / 'roundtrip.db'}")
    cfg = alembic_config(eng)
    command.upgrade(cfg, "head")
    command.downgrade(cfg, "base")
    assert set(sa.inspect(eng).get_table_names()) <= {"alembic_version"}
    command.upgrade(cfg, "head")
    assert "recordings" in sa.inspect(eng).get_table_names()
    eng.dispose()
