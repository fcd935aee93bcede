"""Alembic environment: runs against the engine callvault hands it."""

from __future__ import annotations

from alembic import context

from callvault.db import load_models

target_metadata = load_models()
engine = context.config.attributes["engine"]

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
