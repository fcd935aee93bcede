"""The schema builds and the per-test transaction isolates tests from each other."""

import sqlalchemy as sa
from sqlalchemy.orm import Session

from callvault.db import load_models


def test_every_part_table_exists(session: Session) -> None:
    names = set(sa.inspect(session.get_bind()).get_table_names())
    assert set(load_models().tables) <= names


def test_writes_do_not_leak_between_tests_first(session: Session) -> None:
    session.execute(sa.text("CREATE TEMP TABLE IF NOT EXISTS _probe (x int)"))
    assert session.execute(sa.text("SELECT count(*) FROM recordings")).scalar() == 0
