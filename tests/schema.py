"""How test databases are made: a database of their own, with the schema `callvault init` runs."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy.engine import Engine

from callvault.db import load_models, make_engine, migrate


def create_schema(engine: Engine) -> None:
    load_models()
    migrate(engine)


@contextmanager
def own_database(sqlite_dir: Path, *, postgres: bool | None = None) -> Iterator[str]:
    """The URL of a fresh, empty database that is dropped afterwards.

    PostgreSQL when CALLVAULT_TEST_PG names a server (or `postgres=True` insists on it),
    otherwise a SQLite file in `sqlite_dir`.
    """
    server = os.environ.get("CALLVAULT_TEST_PG")
    use_pg = bool(server) if postgres is None else postgres
    if not use_pg:
        yield f"sqlite:///{sqlite_dir / f'own-{uuid.uuid4().hex[:8]}.db'}"
        return
    assert server, "a PostgreSQL database needs CALLVAULT_TEST_PG"
    admin = make_engine(server, isolation_level="AUTOCOMMIT")
    name = f"callvault_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield admin.url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()
