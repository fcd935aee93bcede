"""The access check on the hot path (§6): list 50 of 1,000,000 recordings through a user's grants
on PostgreSQL, and the cost of one Argon2id password verification.

    CALLVAULT_TEST_PG=postgresql://postgres@127.0.0.1:5432/test python -m benchmarks.access \
        [--rows 1000000] [--iterations 300]

A throwaway database is created (and dropped afterwards), the schema is built from the models,
and the rows are bulk-loaded with COPY. Target: p99 under 50 ms for one page of 50.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from benchmarks.common import print_table, throwaway_database
from callvault.access import service
from callvault.access.models import AccessGrant, AccessGrantRecording
from callvault.accounts import passwords
from callvault.accounts.auth import Principal
from callvault.accounts.models import Account
from callvault.db import load_models, make_engine, make_sessionmaker
from callvault.log import configure_logging
from callvault.policy.models import PolicyPurpose, PolicyVersion
from callvault.recordings.models import Recording, RecordingPurpose

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
BENCH_PASSWORD = "Benchmark-Lantern-Harbour-9"  # noqa: S105 (a throwaway benchmark account)
AGENTS = [f"agent-{n:03d}" for n in range(200)]
TEAMS = [f"team-{n:02d}" for n in range(20)]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def seed_policy_and_people(session: Session) -> tuple[PolicyVersion, Account, Account]:
    version = PolicyVersion(
        number=1,
        effective_from=NOW - timedelta(days=365),
        approved_by=None,
        change_note="benchmark",
        text_sv="-",
        text_en="-",
        prompt_sv="-",
        prompt_en="-",
        created_at=NOW - timedelta(days=365),
    )
    for code, variants in (
        ("training", ["pseudonymised"]),
        ("quality_assurance", ["pseudonymised", "original"]),
    ):
        version.purposes.append(
            PolicyPurpose(
                code=code,
                description_sv=code,
                description_en=code,
                retention_days=90,
                variants=variants,
            )
        )
    hashed = passwords.hash_password(BENCH_PASSWORD)
    people = [
        Account(
            email=f"{role}@bench.example.org",
            role=role,
            password_hash=hashed,
            password_changed_at=NOW,
            created_at=NOW,
            created_by="cli",
        )
        for role in ("dpo", "qa_manager")
    ]
    session.add_all([version, *people])
    session.flush()
    return version, people[0], people[1]


def bulk_load(engine: Engine, version_id: uuid.UUID, rows: int, seed: int) -> list[uuid.UUID]:
    """COPY `rows` recordings (and their purposes) spread over 90 days; returns a sample of ids."""
    rng = random.Random(seed)  # noqa: S311 (synthetic data, not secrets)
    sample: list[uuid.UUID] = []
    # Secondary indexes are built after the load, which is much faster than maintaining them.
    tables = [cast(sa.Table, model.__table__) for model in (Recording, RecordingPurpose)]
    indexes = [index for table in tables for index in table.indexes]
    with engine.begin() as conn:
        for index in indexes:
            conn.execute(sa.schema.DropIndex(index))
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        columns = (
            "id, call_id, agent_id, team, started_at, ended_at, duration_s, sample_rate, "
            "channel_layout, language, policy_version_id, content_sha256, expires_at, "
            "state, created_at"
        )
        purposes: list[tuple[uuid.UUID, str]] = []
        with cur.copy(f"COPY recordings ({columns}) FROM STDIN") as copy:
            for n in range(rows):
                rid = uuid.UUID(int=rng.getrandbits(128), version=4)
                started = NOW - timedelta(seconds=rng.randrange(90 * 86400))
                agent = rng.randrange(len(AGENTS))
                roll = rng.random()
                state = "deleted" if roll < 0.03 else ("processing" if roll < 0.05 else "ready")
                copy.write_row(
                    (
                        rid,
                        f"call-{n}",
                        AGENTS[agent],
                        TEAMS[agent % len(TEAMS)],
                        started,
                        started + timedelta(minutes=4),
                        240.0,
                        16000,
                        '["agent","customer"]',
                        "sv",
                        version_id,
                        "0" * 64,
                        started + timedelta(days=90),
                        state,
                        started,
                    )
                )
                which = rng.random()
                if which < 0.7 or which >= 0.9:
                    purposes.append((rid, "training"))
                if which < 0.9:
                    purposes.append((rid, "quality_assurance"))
                if n % 2000 == 0:
                    sample.append(rid)
        with cur.copy("COPY recording_purposes (recording_id, purpose_code) FROM STDIN") as copy:
            for row in purposes:
                copy.write_row(row)
        raw.commit()
    finally:
        raw.close()
    with engine.begin() as conn:
        for index in indexes:
            conn.execute(sa.schema.CreateIndex(index))
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute("ANALYZE recordings")
        cur.execute("ANALYZE recording_purposes")
        raw.commit()
    finally:
        raw.close()
    return sample


def scenarios(sample: list[uuid.UUID]) -> dict[str, list[dict[str, object]]]:
    """Grant sets for the manager: from one broad grant to several narrow ones."""
    return {
        "all (QA, original)": [
            {"purpose": "quality_assurance", "variant": "original", "scope_kind": "all"}
        ],
        "one team": [
            {
                "purpose": "quality_assurance",
                "variant": "original",
                "scope_kind": "team",
                "scope_team": TEAMS[3],
            }
        ],
        "one agent": [
            {
                "purpose": "quality_assurance",
                "variant": "original",
                "scope_kind": "agent",
                "scope_agent_id": AGENTS[42],
            }
        ],
        "7-day range": [
            {
                "purpose": "training",
                "variant": "pseudonymised",
                "scope_kind": "date_range",
                "scope_from": NOW - timedelta(days=37),
                "scope_until": NOW - timedelta(days=30),
            }
        ],
        "500 listed": [
            {
                "purpose": "quality_assurance",
                "variant": "pseudonymised",
                "scope_kind": "recordings",
                "ids": sample[:500],
            }
        ],
        "4 mixed grants": [
            {
                "purpose": "quality_assurance",
                "variant": "original",
                "scope_kind": "team",
                "scope_team": TEAMS[5],
            },
            {
                "purpose": "quality_assurance",
                "variant": "original",
                "scope_kind": "agent",
                "scope_agent_id": AGENTS[7],
            },
            {
                "purpose": "training",
                "variant": "pseudonymised",
                "scope_kind": "date_range",
                "scope_from": NOW - timedelta(days=10),
                "scope_until": NOW - timedelta(days=3),
            },
            {
                "purpose": "quality_assurance",
                "variant": "pseudonymised",
                "scope_kind": "recordings",
                "ids": sample[:100],
            },
        ],
    }


def set_grants(
    session: Session,
    dpo: Account,
    grantee: Account,
    version: PolicyVersion,
    specs: list[dict[str, object]],
) -> None:
    session.execute(sa.delete(AccessGrant))
    for spec in specs:
        spec = dict(spec)
        ids = spec.pop("ids", [])
        grant = AccessGrant(
            grantee_id=grantee.id,
            granted_by=dpo.id,
            policy_version_id=version.id,
            purpose_code=spec.pop("purpose"),
            valid_from=NOW - timedelta(days=1),
            valid_until=NOW + timedelta(days=60),
            allows_download=False,
            created_at=NOW,
            **spec,
        )
        grant.recordings = [AccessGrantRecording(recording_id=i) for i in ids]  # type: ignore[attr-defined]
        session.add(grant)
    session.commit()


CPU_MS: list[float] = []  # this process's CPU time per run of the last `measure`


def measure(run: Callable[[], object], iterations: int) -> list[float]:
    """Wall-clock milliseconds per run; the process's own CPU time per run goes to CPU_MS
    (what this code costs, apart from waiting for the database or for a busy processor)."""
    run()  # warm the plan cache and the buffer pool
    out = []
    CPU_MS.clear()
    for _ in range(iterations):
        start, cpu = time.perf_counter(), time.process_time()
        run()
        out.append((time.perf_counter() - start) * 1000)
        CPU_MS.append((time.process_time() - cpu) * 1000)
    return out


def server_execution_ms(
    engine: Engine, sessions: Callable[[], Session], principal: Principal
) -> float:
    """Median server-side execution time of the listing's main query (EXPLAIN ANALYZE): the
    database's share, apart from Python and the round trips."""
    captured: list[tuple[str, Any]] = []

    def capture(
        conn: object,
        cursor: object,
        statement: str,
        parameters: object,
        context: object,
        executemany: bool,
    ) -> None:
        if "mask" in statement:
            captured.append((statement, parameters))

    sa.event.listen(engine, "before_cursor_execute", capture)
    try:
        with sessions() as session:
            service.visible_recordings(session, principal, now=NOW)
    finally:
        sa.event.remove(engine, "before_cursor_execute", capture)
    statement, parameters = captured[0]
    times = []
    with engine.connect() as conn:
        for _ in range(20):
            plan = conn.exec_driver_sql("EXPLAIN (ANALYZE, FORMAT JSON) " + statement, parameters)
            times.append(float(plan.scalar_one()[0]["Execution Time"]))
    return statistics.median(times)


def http_listing_ms(url: str, email: str, iterations: int) -> list[float]:
    """The same listing through FastAPI, as a signed-in manager's browser would ask for it."""
    import secrets
    import tempfile

    from fastapi import FastAPI
    from fastapi.testclient import TestClient
    from pydantic import SecretStr

    from callvault.access.api import router as access_router
    from callvault.accounts.api import router as accounts_router
    from callvault.app import _callvault_error
    from callvault.clock import FixedClock
    from callvault.config import Settings
    from callvault.errors import CallvaultError
    from callvault.runtime import Runtime, set_runtime

    with tempfile.TemporaryDirectory() as data_dir:
        settings = Settings(
            env="test",
            data_dir=Path(data_dir),
            database_url=url,
            secret_key=SecretStr(secrets.token_urlsafe(48)),
        )
        runtime = Runtime.from_settings(settings, clock=FixedClock(NOW))
        set_runtime(runtime)
        app = FastAPI()
        app.state.runtime = runtime
        app.add_exception_handler(CallvaultError, _callvault_error)
        app.include_router(accounts_router)
        app.include_router(access_router)
        with TestClient(app) as client:
            answer = client.post(
                "/api/v1/session", json={"email": email, "password": BENCH_PASSWORD}
            )
            assert answer.status_code == 200, answer.text
            cursors: list[str | None] = [None]
            body = client.get("/api/v1/recordings", params={"limit": 50}).json()
            while body["next_cursor"] and len(cursors) < 6:
                cursors.append(body["next_cursor"])
                body = client.get(
                    "/api/v1/recordings", params={"limit": 50, "cursor": body["next_cursor"]}
                ).json()
            rng = random.Random(5)  # noqa: S311 (choosing pages, not secrets)

            def one_page() -> object:
                cursor = rng.choice(cursors)
                params: dict[str, str | int] = {"limit": 50}
                if cursor:
                    params["cursor"] = cursor
                response = client.get("/api/v1/recordings", params=params)
                assert response.status_code == 200
                return response

            timings = measure(one_page, iterations)
        runtime.engine.dispose()
        set_runtime(None)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--iterations", type=int, default=300)
    parser.add_argument(
        "--url",
        default=os.environ.get("CALLVAULT_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test"),
    )
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    configure_logging("WARNING")
    results: dict[str, object] = {"rows": args.rows}

    with throwaway_database(args.url, "access") as url:
        engine = make_engine(url)
        load_models().create_all(engine)
        sessions = make_sessionmaker(engine)
        with sessions() as session:
            version, dpo, manager = seed_policy_and_people(session)
            session.commit()
        start = time.perf_counter()
        sample = bulk_load(engine, version.id, args.rows, seed=7)
        load_s = time.perf_counter() - start
        print(f"loaded {args.rows:,} recordings in {load_s:.1f} s")
        principal = Principal(kind="account", id=manager.id, role="qa_manager", session_id=None)
        table = []
        rng = random.Random(11)  # noqa: S311 (choosing pages, not secrets)
        for name, specs in scenarios(sample).items():
            with sessions() as session:
                set_grants(session, dpo, manager, version, specs)
            with sessions() as session:
                first = service.visible_recordings(session, principal, now=NOW)
                cursors: list[str | None] = [None]
                page = first
                for _ in range(5):  # a few deeper pages to start from, too
                    if page.next_cursor is None:
                        break
                    cursors.append(page.next_cursor)
                    page = service.visible_recordings(
                        session,
                        principal,
                        page=service.PageRequest(cursor=page.next_cursor),
                        now=NOW,
                    )

                def one_page(
                    session: Session = session, cursors: list[str | None] = cursors
                ) -> object:
                    session.expunge_all()
                    return service.visible_recordings(
                        session,
                        principal,
                        page=service.PageRequest(50, rng.choice(cursors)),
                        now=NOW,
                    )

                ms = measure(one_page, args.iterations)
                session.rollback()
            sql_ms = server_execution_ms(engine, sessions, principal)
            row = [
                name,
                len(first.items),
                f"{statistics.median(ms):.1f}",
                f"{percentile(ms, 95):.1f}",
                f"{percentile(ms, 99):.1f}",
                f"{max(ms):.1f}",
                f"{statistics.median(CPU_MS):.1f}",
                f"{sql_ms:.2f}",
            ]
            table.append(row)
            results[name] = {
                "items": len(first.items),
                "p50_ms": statistics.median(ms),
                "p95_ms": percentile(ms, 95),
                "p99_ms": percentile(ms, 99),
                "sql_exec_ms": sql_ms,
                "client_cpu_p50_ms": statistics.median(CPU_MS),
            }
        print_table(
            f"visible_recordings: one page of 50 from {args.rows:,} "
            f"(PostgreSQL, {args.iterations} runs)",
            ["grants", "items", "p50 ms", "p95 ms", "p99 ms", "max ms", "CPU ms", "SQL exec ms"],
            table,
        )
        http_ms = http_listing_ms(url, manager.email, args.iterations)
        print_table(
            "GET /api/v1/recordings?limit=50 through the app (session cookie, CSRF-free read, "
            "principal lookup, listing, audit entry), last scenario's grants",
            ["p50 ms", "p95 ms", "p99 ms", "CPU ms"],
            [
                [
                    f"{statistics.median(http_ms):.1f}",
                    f"{percentile(http_ms, 95):.1f}",
                    f"{percentile(http_ms, 99):.1f}",
                    f"{statistics.median(CPU_MS):.1f}",
                ]
            ],
        )
        results["http_listing"] = {
            "p50_ms": statistics.median(http_ms),
            "p99_ms": percentile(http_ms, 99),
        }
        engine.dispose()

    stored = passwords.hash_password(BENCH_PASSWORD)
    verify_ms = measure(lambda: passwords.verify_password(stored, BENCH_PASSWORD), 50)
    dummy_ms = measure(lambda: passwords.verify_dummy("Wrong-Guess-Lantern-1"), 50)
    print_table(
        "Argon2id verification (m=19 MiB, t=2, p=1), 50 runs",
        ["check", "p50 ms", "p99 ms"],
        [
            [
                "correct password",
                f"{statistics.median(verify_ms):.1f}",
                f"{percentile(verify_ms, 99):.1f}",
            ],
            [
                "unknown account (dummy hash)",
                f"{statistics.median(dummy_ms):.1f}",
                f"{percentile(dummy_ms, 99):.1f}",
            ],
        ],
    )
    results["argon2id_verify_ms"] = {
        "p50": statistics.median(verify_ms),
        "p99": percentile(verify_ms, 99),
    }
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(results, fh, indent=2, default=str)


if __name__ == "__main__":
    main()
