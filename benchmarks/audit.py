"""Audit trail benchmark: append rate through `record`, and `audit verify` over a long chain.

    python -m benchmarks.audit [--entries 1000000] [--appends 3000] [--backend sqlite|postgresql]

PostgreSQL runs when CALLVAULT_TEST_PG names a server (a scratch database is created and
dropped). The long chain is generated directly (precomputed hashes, bulk insert), which is fine
for timing verification; the append rate is measured through the real `record`.
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from benchmarks.common import throwaway_database
from callvault.audit.chain import GENESIS_HASH, canonical_entry, canonical_text, link_hash
from callvault.audit.checkpoints import create_checkpoint
from callvault.audit.models import AuditCheckpoint, AuditEntry, AuditHead
from callvault.audit.service import record
from callvault.audit.signing import ensure_signing_key, load_signer
from callvault.audit.verify import verify_chain
from callvault.clock import SystemClock
from callvault.config import Settings
from callvault.db import Base, make_engine, make_sessionmaker, transaction
from callvault.log import configure_logging
from callvault.runtime import Runtime, set_runtime

TABLES: list[sa.Table] = [m.__table__ for m in (AuditEntry, AuditHead, AuditCheckpoint)]
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@contextmanager
def scratch_engine(backend: str, workdir: Path) -> Iterator[Engine]:
    if backend == "sqlite":
        engine = make_engine(f"sqlite:///{workdir / 'audit-bench.db'}")
        Base.metadata.create_all(engine, tables=TABLES)
        try:
            yield engine
        finally:
            engine.dispose()
        return
    with throwaway_database(os.environ["CALLVAULT_TEST_PG"], "audit") as url:
        engine = make_engine(url)
        try:
            Base.metadata.create_all(engine, tables=TABLES)
            yield engine
        finally:
            engine.dispose()


def measure_appends(runtime: Runtime, n: int, per_transaction: int) -> float:
    """Entries per second through `record`, `per_transaction` entries per commit."""
    object_id = str(uuid.uuid4())
    actor = f"account:{uuid.uuid4()}"
    started = time.perf_counter()
    for _ in range(n // per_transaction):
        with transaction(runtime.sessions) as session:
            for _ in range(per_transaction):
                record(
                    session,
                    actor=actor,
                    action="recording.play",
                    object_type="recording",
                    object_id=object_id,
                    reason="Quality review of the greeting",
                    source="10.0.0.1",
                    details={"grant_id": object_id, "variant": "pseudonymised"},
                )
    return (n // per_transaction * per_transaction) / (time.perf_counter() - started)


def generated_rows(first_seq: int, prev_hash: str, n: int) -> Iterator[tuple[object, ...]]:
    """A valid chain continuing after (first_seq - 1, prev_hash): what `record` would write."""
    actors = [f"account:{uuid.uuid4()}" for _ in range(50)]
    objects = [str(uuid.uuid4()) for _ in range(1000)]
    actions = ["recording.play", "recording.list", "recording.transcript", "access.refused"]
    for i in range(n):
        seq = first_seq + i
        at = START + timedelta(milliseconds=seq)
        at_text = f"{at:%Y-%m-%dT%H:%M:%S.%f}Z"
        action = actions[i % 4]
        outcome = "refused" if action == "access.refused" else "ok"
        object_id = objects[i % 1000]
        reason = "Quality review of the greeting" if i % 3 == 0 else None
        details = canonical_text({"grant_id": objects[(i * 7) % 1000], "n": i % 97})
        actor = actors[i % 50]
        canonical = canonical_entry(
            seq, at_text, actor, action, "recording", object_id, reason, "10.0.0.1", outcome,
            details,
        )  # fmt: skip
        digest = link_hash(prev_hash, canonical)
        yield (seq, at, actor, action, "recording", object_id, reason, "10.0.0.1", outcome,
               details, prev_hash, digest)  # fmt: skip
        prev_hash = digest


def bulk_insert(engine: Engine, n: int) -> None:
    with engine.begin() as conn:
        last = conn.execute(
            sa.select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1)
        ).first()
        first_seq, prev_hash = (last[0] + 1, last[1]) if last else (1, GENESIS_HASH)
        dbapi: Any = conn.connection.dbapi_connection
        columns = (
            "seq, at, actor, action, object_type, object_id, reason, source, outcome, details, "
            "prev_hash, hash"
        )
        rows = generated_rows(first_seq, prev_hash, n)
        if engine.dialect.name == "sqlite":
            cursor = dbapi.cursor()
            cursor.execute("PRAGMA cache_size = -262144")  # 256 MiB: the random hash index
            cursor.executemany(
                f"INSERT INTO audit_entries ({columns}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",  # noqa: S608
                ((r[0], f"{r[1]:%Y-%m-%d %H:%M:%S.%f}", *r[2:]) for r in rows),
            )
        else:
            cursor = dbapi.cursor()
            with cursor.copy(f"COPY audit_entries ({columns}) FROM STDIN") as copy:
                for r in rows:
                    copy.write_row(r)
        conn.execute(sa.update(AuditHead).where(AuditHead.id == 1).values(seq=first_seq + n - 1))


def run(backend: str, entries: int, appends: int) -> dict[str, float]:
    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp, scratch_engine(backend, Path(tmp)) as engine:
        settings = Settings(data_dir=Path(tmp), database_url=str(engine.url))
        runtime = Runtime(settings, engine, make_sessionmaker(engine), SystemClock())
        set_runtime(runtime)
        results["append_per_s_1_per_tx"] = measure_appends(runtime, appends, 1)
        results["append_per_s_100_per_tx"] = measure_appends(runtime, appends * 3, 100)

        started = time.perf_counter()
        bulk_insert(engine, entries - appends * 4)
        results["generate_s"] = time.perf_counter() - started

        ensure_signing_key(settings.resolved_audit_signing_key)
        signer = load_signer(settings.resolved_audit_signing_key)
        with transaction(runtime.sessions) as session:
            create_checkpoint(session, runtime, signer=signer)
        if engine.dialect.name == "postgresql":
            with engine.connect() as conn:
                conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
                    "VACUUM ANALYZE audit_entries"
                )

        for workers in sorted({1, min(os.cpu_count() or 1, 4)}):
            started, cpu = time.perf_counter(), _cpu_seconds()
            with engine.connect() as conn:
                report = verify_chain(conn, signer.verifier, workers=workers)
                conn.rollback()
            results[f"verify_s_{workers}_workers"] = time.perf_counter() - started
            results[f"verify_cpu_s_{workers}_workers"] = _cpu_seconds() - cpu
            assert report.ok, report.problems
        results["verify_s"] = min(v for k, v in results.items() if k.startswith("verify_s_"))
        results["verified_entries"] = report.entries
        results["verify_entries_per_s"] = report.entries / results["verify_s"]
        set_runtime(None)
    return results


def _cpu_seconds() -> float:
    """CPU time of this process and its finished children (the verification workers)."""
    me, children = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--appends", type=int, default=2000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    configure_logging("WARNING")
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    if "postgresql" in backends and not os.environ.get("CALLVAULT_TEST_PG"):
        print("postgresql: skipped (set CALLVAULT_TEST_PG)")
        backends.remove("postgresql")
    for backend in backends:
        results = run(backend, args.entries, args.appends)
        print(f"{backend}:")
        for key, value in results.items():
            print(f"  {key:<26} {value:,.1f}")
        print(f"  load average after: {os.getloadavg()[0]:.1f}")
        target = "met" if results["verify_s"] < 10 else "MISSED"
        print(f"  verify of {int(results['verified_entries']):,} entries: target < 10 s {target}")


if __name__ == "__main__":
    main()
