"""Tests that verifying in several processes finds exactly what one process finds."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from callvault.audit.chain import canonical_entry, canonical_text, canonical_time, link_hash
from callvault.audit.models import AuditEntry
from callvault.audit.parallel import ranges
from callvault.audit.service import record
from callvault.audit.verify import verify_chain
from callvault.db import make_sessionmaker, transaction

ENTRIES = 40  # ranges of 14, 14 and 12 with three workers


@pytest.mark.parametrize(
    ("last", "workers", "expected"),
    [
        (40, 3, [(1, 14), (15, 28), (29, 40)]),
        (4, 4, [(1, 1), (2, 2), (3, 3), (4, 4)]),
        (3, 4, [(1, 1), (2, 2), (3, 3)]),
        (10, 1, [(1, 10)]),
    ],
)
def test_ranges_cover_every_entry_once(
    last: int, workers: int, expected: list[tuple[int, int]]
) -> None:
    assert ranges(last, workers) == expected


@pytest.fixture
def chain(scratch_engine: Engine) -> Engine:
    with transaction(make_sessionmaker(scratch_engine)) as session:
        for i in range(ENTRIES):
            record(session, actor="system", action="audit.test", details={"i": i},
                   reason=f"entry {i}")  # fmt: skip
    with scratch_engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("ALTER TABLE audit_entries DISABLE TRIGGER USER")
        else:
            conn.exec_driver_sql("DROP TRIGGER audit_entries_no_update")
            conn.exec_driver_sql("DROP TRIGGER audit_entries_no_delete")
    return scratch_engine


def rehash(conn: sa.Connection, seq: int) -> None:
    row = conn.execute(sa.select(AuditEntry.__table__).where(AuditEntry.seq == seq)).one()
    canonical = canonical_entry(
        seq, canonical_time(row.at), row.actor, row.action, row.object_type, row.object_id,
        "forged", row.source, row.outcome, canonical_text(row.details),
    )  # fmt: skip
    conn.execute(
        sa.text("UPDATE audit_entries SET reason = 'forged', hash = :h WHERE seq = :s"),
        {"h": link_hash(row.prev_hash, canonical), "s": seq},
    )


def statement(sql: str) -> Callable[[sa.Connection], None]:
    def run(conn: sa.Connection) -> None:
        conn.exec_driver_sql(sql)

    return run


@pytest.mark.parametrize(
    "tamper",
    [
        statement("SELECT 1"),
        statement("DELETE FROM audit_entries WHERE seq = 14"),
        statement("DELETE FROM audit_entries WHERE seq = 15"),
        statement("DELETE FROM audit_entries WHERE seq BETWEEN 15 AND 28"),
        statement("DELETE FROM audit_entries WHERE seq = 1"),
        statement("DELETE FROM audit_entries WHERE seq >= 38"),
        statement("UPDATE audit_entries SET reason = 'x' WHERE seq = 20"),
        statement("UPDATE audit_entries SET reason = 'x' WHERE seq IN (3, 29)"),
        lambda conn: rehash(conn, 14),
        lambda conn: rehash(conn, 28),
    ],
    ids=["intact", "end-of-range", "start-of-range", "whole-range", "first", "tail", "middle",
         "two", "rehash-boundary", "rehash-second-boundary"],
)  # fmt: skip
def test_parallel_verification_matches_one_process(
    chain: Engine, tamper: Callable[[sa.Connection], None]
) -> None:
    with chain.begin() as conn:
        tamper(conn)
    with chain.connect() as conn:
        serial = verify_chain(conn, None)
    with chain.connect() as conn:
        seen: list[int] = []
        parallel = verify_chain(
            conn, None, workers=3, parallel_threshold=1, on_progress=seen.append
        )
    assert parallel.as_dict() == serial.as_dict()
    assert sum(seen) == parallel.entries
