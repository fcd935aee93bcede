"""`audit verify`: walk the whole chain and the signed checkpoints, and report the first damage."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from callvault.audit.chain import (
    GENESIS_HASH,
    canonical_entry,
    canonical_text,
    canonical_time,
    checkpoint_message,
    link_hash,
)
from callvault.audit.parallel import PARALLEL_MIN_ENTRIES, walk_in_parallel
from callvault.audit.signing import CheckpointVerifier
from callvault.runtime import Runtime

BATCH = 20_000
MAX_PROBLEMS = 50

# The database assembles each entry's canonical JSON (the fast path: one string per row to
# hash); Python does every hash. Any row whose hash does not match is rebuilt from its columns in
# Python before it is reported, so a quoting difference can never pass as tampering or hide it.
_SQLITE_ENTRIES = """
SELECT seq, prev_hash, hash,
  '{"action":' || json_quote(action) || ',"actor":' || json_quote(actor)
  || ',"at":"' || replace(at, ' ', 'T') || 'Z","details":' || details
  || ',"object_id":' || json_quote(object_id) || ',"object_type":' || json_quote(object_type)
  || ',"outcome":' || json_quote(outcome) || ',"reason":' || json_quote(reason)
  || ',"seq":' || seq || ',"source":' || json_quote(source) || '}'
FROM audit_entries WHERE seq >= ? AND seq <= ? ORDER BY seq
"""
# PostgreSQL's to_json costs more server time than building the JSON in Python costs here, so
# PostgreSQL sends the columns (time already as canonical text) and Python assembles them.
_POSTGRES_ENTRIES = (
    "SELECT seq, prev_hash, hash, action, actor, "
    "pg_catalog.to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), "
    "details::text, object_id, object_type, outcome, reason, source "
    "FROM audit_entries WHERE seq >= %s AND seq <= %s ORDER BY seq"
)
_ROW = sa.text(
    "SELECT seq, at, actor, action, object_type, object_id, reason, source, outcome, details "
    "FROM audit_entries WHERE seq = :seq"
)


@dataclass(frozen=True)
class Problem:
    """One finding. `seq` is the first entry it concerns (None for a checkpoint-only finding)."""

    kind: str  # altered, missing, broken_link, truncated, bad_signature, unknown_key, head
    seq: int | None
    message: str


@dataclass
class VerifyReport:
    """What `verify_chain` found."""

    entries: int = 0
    last_seq: int = 0
    head_seq: int = 0
    checkpoints: int = 0
    last_checkpoint_seq: int | None = None
    problems: list[Problem] = field(default_factory=list)
    problem_count: int = 0
    # Where a range walked by one worker starts: stitched to the range before it.
    first_seq: int | None = None
    first_prev: str | None = None
    last_hash: str | None = None

    @property
    def ok(self) -> bool:
        return self.problem_count == 0

    @property
    def first_bad_seq(self) -> int | None:
        seqs = [p.seq for p in self.problems if p.seq is not None]
        return min(seqs) if seqs else None

    def add(self, kind: str, seq: int | None, message: str) -> None:
        self.problem_count += 1
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(Problem(kind, seq, message))

    def as_dict(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "entries": self.entries,
            "last_seq": self.last_seq,
            "head_seq": self.head_seq,
            "checkpoints": self.checkpoints,
            "last_checkpoint_seq": self.last_checkpoint_seq,
            "first_bad_seq": self.first_bad_seq,
            "problem_count": self.problem_count,
            "problems": [p.__dict__ for p in self.problems],
        }


def verify_chain(
    connection: sa.Connection,
    verifier: CheckpointVerifier | None,
    *,
    on_progress: Callable[[int], None] | None = None,
    batch_size: int = BATCH,
    workers: int = 1,
    parallel_threshold: int = PARALLEL_MIN_ENTRIES,
) -> VerifyReport:
    """Check every entry's hash and link, every checkpoint's signature and that the chain still
    reaches each checkpoint. Streams in batches (a server-side cursor on PostgreSQL), so memory
    stays flat however long the chain. With `workers` > 1 and a long chain, ranges of entries
    are checked in that many processes (each opens its own connection, so the connection given
    must not hold uncommitted entries) and stitched together.

    Without a verifier (no key at hand) the signatures are reported as unchecked problems.
    """
    if connection.dialect.name == "postgresql" and not connection.in_transaction():
        # One snapshot for the head, the checkpoints and every entry.
        connection = connection.execution_options(isolation_level="REPEATABLE READ")
    report = VerifyReport()
    report.head_seq = int(
        connection.exec_driver_sql("SELECT seq FROM audit_head WHERE id = 1").scalar() or 0
    )
    checkpoint_hashes = _check_checkpoints(connection, verifier, report)
    last_seq = 0
    if workers > 1:
        last_seq = int(
            connection.exec_driver_sql("SELECT max(seq) FROM audit_entries").scalar() or 0
        )
    if workers > 1 and last_seq >= parallel_threshold:
        # Entries up to the newest one seen here are all committed (appends commit in seq
        # order, under the head lock), so other connections see the same ones.
        walk_in_parallel(
            connection, report, checkpoint_hashes, last_seq, workers, on_progress, batch_size
        )
    else:
        _walk_entries(connection, report, checkpoint_hashes, on_progress, batch_size)
    _check_tail(report, checkpoint_hashes)
    return report


@contextmanager
def verification_connection(runtime: Runtime) -> Iterator[sa.Connection]:
    """A connection of its own (a repeatable snapshot on PostgreSQL), or the test's shared one."""
    bind = runtime.sessions.kw.get("bind")
    if isinstance(bind, sa.Connection):
        yield bind
        return
    with runtime.engine.connect() as connection:
        try:
            yield connection
        finally:
            connection.rollback()


def verify_segment(connection: sa.Connection, start: int, prev_hash: str) -> VerifyReport:
    """Check the entries from `start` on, the first of which must follow `prev_hash` (the hash a
    checkpoint signed): what a new checkpoint checks before it signs a newer head."""
    report = VerifyReport()
    _walk_entries(connection, report, {}, None, BATCH, start=start, prev_hash=prev_hash)
    return report


def _check_checkpoints(
    connection: sa.Connection, verifier: CheckpointVerifier | None, report: VerifyReport
) -> dict[int, list[tuple[str, datetime]]]:
    rows = connection.execute(
        sa.text(
            "SELECT seq, hash, at, key_id, signature FROM audit_checkpoints ORDER BY seq, id"
        ).columns(at=_utc_type())
    ).all()
    hashes: dict[int, list[tuple[str, datetime]]] = {}
    for seq, head_hash, at, key_id, signature in rows:
        report.checkpoints += 1
        report.last_checkpoint_seq = seq
        hashes.setdefault(seq, []).append((head_hash, at))
        if verifier is None:
            report.add("unknown_key", None, f"checkpoint at seq {seq}: no key to check it")
        elif key_id != verifier.key_id:
            report.add("unknown_key", None, f"checkpoint at seq {seq}: signed by unknown key")
        elif not verifier.verify(checkpoint_message(seq, head_hash, at, key_id), signature):
            report.add("bad_signature", seq, f"checkpoint at seq {seq}: signature is not valid")
    return hashes


def _utc_type() -> sa.types.TypeEngine[datetime]:
    from callvault.db import UTCDateTime

    return UTCDateTime()


def _walk_entries(
    connection: sa.Connection,
    report: VerifyReport,
    checkpoint_hashes: dict[int, list[tuple[str, datetime]]],
    on_progress: Callable[[int], None] | None,
    batch_size: int,
    start: int = 1,
    prev_hash: str | None = GENESIS_HASH,
    stop: int = 2**62,
) -> None:
    """Walk entries start..stop. With prev_hash None the first entry is not checked against
    what comes before it; its seq and prev_hash are kept for whoever stitches ranges together."""
    postgres = connection.dialect.name == "postgresql"
    dbapi: Any = connection.connection.dbapi_connection
    if postgres:
        cursor = dbapi.cursor(name="callvault_audit_verify")
        cursor.itersize = batch_size
        cursor.execute(_POSTGRES_ENTRIES, (start, stop))
    else:
        cursor = dbapi.cursor()
        cursor.execute(_SQLITE_ENTRIES, (start, stop))
    expected, last_hash = start, prev_hash
    unchecked_first = prev_hash is None
    sha256 = hashlib.sha256
    try:
        for rows in _batches(cursor, batch_size):
            if postgres:
                rows = [(r[0], r[1], r[2], _build(*r)) for r in rows]
            for seq, prev, h, canonical in rows:
                if unchecked_first:
                    report.first_seq, report.first_prev, unchecked_first = seq, prev, False
                elif seq != expected:
                    report.add("missing", expected, missing_message(expected, seq - 1))
                elif prev != last_hash:
                    report.add(
                        "broken_link",
                        seq,
                        f"entry {seq} does not follow entry {seq - 1} "
                        "(an entry was altered, removed or moved)",
                    )
                if (
                    canonical is None or sha256(f"{prev}\n{canonical}".encode()).hexdigest() != h
                ) and _python_hash(connection, seq, prev) != h:
                    report.add("altered", seq, f"entry {seq} does not match its hash")
                if seq in checkpoint_hashes:
                    for signed_hash, signed_at in checkpoint_hashes[seq]:
                        if signed_hash != h:
                            report.add(
                                "altered",
                                seq,
                                f"entry {seq} differs from the checkpoint signed at "
                                f"{canonical_time(signed_at)}",
                            )
                last_hash, expected = h, seq + 1
            report.entries += len(rows)
            if on_progress is not None:
                on_progress(len(rows))
    finally:
        cursor.close()
    report.last_seq, report.last_hash = expected - 1, last_hash


def _batches(cursor: Any, size: int) -> Iterator[list[Any]]:
    while rows := cursor.fetchmany(size):
        yield rows


def _build(
    seq: int,
    _prev: str,
    _hash: str,
    action: str,
    actor: str,
    at: str,
    details: str,
    object_id: str | None,
    object_type: str | None,
    outcome: str,
    reason: str | None,
    source: str | None,
) -> str:
    return canonical_entry(
        seq, at, actor, action, object_type, object_id, reason, source, outcome, details
    )


def _python_hash(connection: sa.Connection, seq: int, prev_hash: str) -> str | None:
    """The entry's hash computed from its columns in Python alone (the slow, sure path)."""
    row = connection.execute(_ROW, {"seq": seq}).first()
    if row is None:
        return None
    at, details = row.at, row.details
    if isinstance(at, str):  # SQLite keeps UTC text
        at = datetime.fromisoformat(at).replace(tzinfo=UTC)
    if not isinstance(details, str):
        details = canonical_text(details)
    canonical = canonical_entry(
        seq,
        canonical_time(at),
        row.actor,
        row.action,
        row.object_type,
        row.object_id,
        row.reason,
        row.source,
        row.outcome,
        details,
    )
    return link_hash(prev_hash, canonical)


def missing_message(first: int, last: int) -> str:
    if first == last:
        return f"entry {first} is missing"
    return f"entries {first} to {last} are missing"


def _check_tail(
    report: VerifyReport, checkpoint_hashes: dict[int, list[tuple[str, datetime]]]
) -> None:
    beyond = [seq for seq in checkpoint_hashes if seq > report.last_seq]
    if beyond:
        report.add(
            "truncated",
            report.last_seq + 1,
            f"the chain ends at entry {report.last_seq} but a checkpoint was signed at entry "
            f"{max(beyond)}: entries were cut off the end",
        )
    if report.head_seq > report.last_seq and not beyond:
        report.add(
            "truncated",
            report.last_seq + 1,
            f"the chain ends at entry {report.last_seq} but its head says {report.head_seq}",
        )
    elif report.head_seq < report.last_seq:
        report.add(
            "head",
            report.head_seq + 1,
            f"the chain head says {report.head_seq} but entries run to {report.last_seq}",
        )
