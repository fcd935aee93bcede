"""How the test database gets its schema: the same migrations `callvault init` runs."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from callvault.db import load_models, migrate


def create_schema(engine: Engine) -> None:
    load_models()
    migrate(engine)
