"""Server time of the recordings list and the DPO dashboard with 1,000,000 recordings in
PostgreSQL (issue 7). Target: p95 under 200 ms for each page.

    CALLVAULT_TEST_PG=postgresql://postgres@127.0.0.1:5432/test python -m benchmarks.web \
        [--rows 1000000] [--iterations 60]

A throwaway database is created and dropped afterwards. The schema comes from the models, the
recordings (with their purposes, consent outcomes and some refused attempts in the audit trail)
are generated inside PostgreSQL with generate_series. Pages are requested in-process through the
ASGI app with a logged-in session, so the time is the server's: routing, authorisation, the
queries and template rendering, without a network.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pyotp
import sqlalchemy as sa
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy.orm import Session

from benchmarks.common import print_table, throwaway_database
from callvault.accounts import service as accounts
from callvault.accounts.auth import Principal
from callvault.app import create_app
from callvault.config import Settings
from callvault.db import load_models, transaction
from callvault.parts import part_modules
from callvault.runtime import Runtime, set_runtime

PASSWORD = "benchmark passphrase 2026"  # noqa: S105 - a throwaway database


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


SEED_RECORDINGS = """
INSERT INTO recordings (id, call_id, agent_id, team, started_at, ended_at, duration_s,
    sample_rate, channel_layout, caller_number_hash, language, policy_version_id,
    content_sha256, expires_at, state, created_at)
SELECT md5('rec' || n)::uuid, 'CA-bench-' || n, 'agent-' || lpad((n % 200)::text, 3, '0'),
    'team-' || lpad((n % 20)::text, 2, '0'),
    now() - (n * interval '1 second' * (85 * 86400.0 / :rows)),
    now() - (n * interval '1 second' * (85 * 86400.0 / :rows)) + interval '4 minutes',
    240.0, 8000, '["agent", "customer"]'::json, md5('caller' || (n % 300000)),
    'sv', :version, md5('audio' || n) || md5('x' || n),
    now() - (n * interval '1 second' * (85 * 86400.0 / :rows)) + interval '90 days',
    'ready', now()
FROM generate_series(1, :rows) AS n
"""
SEED_PURPOSES = """
INSERT INTO recording_purposes (recording_id, purpose_code)
SELECT id, p FROM recordings CROSS JOIN (VALUES ('training'), ('quality_assurance')) AS v(p)
"""
SEED_OUTCOMES = """
INSERT INTO consent_outcomes (id, occurred_at, day, policy_version_id, outcome, language,
    channel)
SELECT md5('outcome' || n)::uuid, now() - (n % 56) * interval '1 day',
    (now() - (n % 56) * interval '1 day')::date, :version,
    (ARRAY['accepted', 'accepted', 'accepted', 'refused', 'no_answer'])[1 + n % 5], 'sv', 'ivr'
FROM generate_series(1, 20000) AS n
"""


SEED_TALLY = """
INSERT INTO recording_tallies (slot, live)
SELECT 0, count(*) FROM recordings WHERE state IN ('ingested', 'processing', 'ready')
ON CONFLICT (slot) DO UPDATE SET live = EXCLUDED.live
"""


def seed(runtime: Runtime, rows: int) -> tuple[str, str, str]:
    """People, grants and `rows` recordings; returns the DPO's TOTP secret and two emails."""
    from callvault.access.grants import GrantScope, create_grant
    from callvault.access.models import ScopeKind
    from callvault.policy.models import PolicyVersion

    now = runtime.clock.now()
    with transaction(runtime.sessions) as session:
        session.execute(sa.update(PolicyVersion).values(effective_from=now - timedelta(days=365)))
        version = session.scalar(sa.select(PolicyVersion.id))
        dpo = accounts.create_account(
            session, runtime, email="dpo@example.org", role="dpo", password=PASSWORD,
            actor="system", source="cli",
        )  # fmt: skip
        enrolment = accounts.begin_totp_enrolment(session, runtime, dpo.id)
        accounts.confirm_totp_enrolment(
            session, runtime, account_id=dpo.id, session_id=None,
            code=pyotp.TOTP(enrolment.secret).at(runtime.clock.now() - timedelta(seconds=30)),
            source="cli",
        )  # fmt: skip
        qa = accounts.create_account(
            session, runtime, email="qa@example.org", role="qa_manager", password=PASSWORD,
            actor="system", source="cli",
        )  # fmt: skip
        principal = Principal(kind="account", id=dpo.id, role="dpo", session_id=None)
        for scope in (GrantScope(ScopeKind.ALL), GrantScope(ScopeKind.TEAM, team="team-07")):
            create_grant(
                session, runtime, principal, grantee_id=qa.id, purpose="quality_assurance",
                variant="original", scope=scope, valid_from=now - timedelta(hours=1),
                valid_until=now + timedelta(days=6), source="cli",
            )  # fmt: skip
        for index in range(200):  # refused attempts for the dashboard's table
            from callvault.audit.service import record

            record(
                session, actor=f"account:{qa.id}", action="access.refused",
                object_type="recording", object_id=str(uuid.uuid4()), source="bench",
                outcome="refused", details={"why": "no_grant", "attempted": "recording.view"},
                at=now - timedelta(minutes=index * 40),
            )  # fmt: skip
    with runtime.engine.begin() as conn:
        params = {"rows": rows, "version": version}
        conn.execute(sa.text(SEED_RECORDINGS), params)
        conn.execute(sa.text(SEED_PURPOSES))
        # Rows written behind the ORM's back are counted into the live tally once, as the
        # migration does for a store that exists already.
        conn.execute(sa.text(SEED_TALLY))
        conn.execute(sa.text(SEED_OUTCOMES), params)
    # As autovacuum would have left a table filled over 90 days: statistics and visibility map.
    with runtime.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE")
    return enrolment.secret, "dpo@example.org", "qa@example.org"


def logged_in(app: object, email: str, totp_secret: str | None) -> TestClient:
    client = TestClient(app, base_url="http://bench")  # type: ignore[arg-type]
    client.headers["accept"] = "text/html"
    code = pyotp.TOTP(totp_secret).now() if totp_secret else ""
    token = re.search(r'name="login_token" value="([^"]+)"', client.get("/login").text)
    response = client.post(
        "/login",
        data={"email": email, "password": PASSWORD, "totp": code,
              "login_token": token.group(1) if token else ""},
        follow_redirects=False,
    )  # fmt: skip
    if response.status_code != 303:
        raise SystemExit(f"login failed for {email}: {response.status_code}")
    return client


def measure(
    client: TestClient, path: str, iterations: int, before: Callable[[], None] | None = None
) -> list[float]:
    for _ in range(3):  # warm caches and the connection pool
        client.get(path)
    seconds = []
    for _ in range(iterations):
        if before is not None:
            before()
        start = time.perf_counter()
        response = client.get(path)
        seconds.append(time.perf_counter() - start)
        if response.status_code != 200:
            raise SystemExit(f"{path} answered {response.status_code}")
    return seconds


def dashboard_breakdown(runtime: Runtime, iterations: int) -> dict[str, float]:
    """Median time of each query behind the DPO dashboard, to see where the time goes."""
    from callvault.access.grants import list_grants
    from callvault.access.service import refusals_by_user_and_day
    from callvault.dsar.service import list_requests
    from callvault.retention.service import overdue_count
    from callvault.web import figures

    now = runtime.clock.now()
    dpo = Principal(kind="account", id=uuid.uuid4(), role="dpo", session_id=None)
    probes: dict[str, Callable[[Session], object]] = {
        "recordings stored and due in 7 days": lambda s: figures.live_recording_counts(s, now),
        "overdue": lambda s: overdue_count(s, now),
        "consent per week": lambda s: figures.weekly_consent(s, now.date()),
        "open DSARs": lambda s: list_requests(s),
        "refused attempts": lambda s: refusals_by_user_and_day(
            s, since=now - timedelta(days=7), until=now
        ),
        "grants": lambda s: list_grants(s, runtime, dpo, active_only=True),
    }
    result = {}
    for name, probe in probes.items():
        seconds = []
        for _ in range(max(5, iterations // 4)):
            with runtime.sessions() as session:
                start = time.perf_counter()
                probe(session)
                seconds.append(time.perf_counter() - start)
        result[name] = statistics.median(seconds) * 1000
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--iterations", type=int, default=60)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    admin_url = os.environ.get("CALLVAULT_TEST_PG")
    if not admin_url:
        raise SystemExit("set CALLVAULT_TEST_PG=postgresql://postgres@127.0.0.1:5432/test")

    with throwaway_database(admin_url, "web") as url, tempfile.TemporaryDirectory() as data:
        settings = Settings(
            env="test", data_dir=Path(data), database_url=url,
            secret_key=SecretStr(secrets.token_urlsafe(48)), embedded_worker=False,
        )  # fmt: skip
        runtime = Runtime.from_settings(settings)
        set_runtime(runtime)
        load_models().create_all(runtime.engine)
        for module in part_modules("setup"):
            module.initialise(runtime)
        started = time.perf_counter()
        secret, dpo_email, qa_email = seed(runtime, args.rows)
        print(f"seeded {args.rows:,} recordings in {time.perf_counter() - started:.1f} s")
        app = create_app(runtime)
        qa = logged_in(app, qa_email, None)
        dpo = logged_in(app, dpo_email, secret)
        first = qa.get("/recordings").text
        cursor = first.split("cursor=", 1)[1].split('"', 1)[0] if "cursor=" in first else ""
        pages = [
            ("recordings, first page", qa, "/recordings", False),
            ("recordings, next page", qa, f"/recordings?cursor={cursor}", False),
            ("recordings, agent filter", qa, "/recordings?agent=agent-042", False),
            ("recordings, date filter", qa, "/recordings?from=2026-01-01&until=2026-12-31", False),
            ("DPO dashboard (no count cache: live tally)", dpo, "/dpo", False),
        ]
        rows = []
        figures: dict[str, dict[str, float]] = {}

        for label, client, path, _ in pages:
            seconds = measure(client, path, args.iterations, None)
            p50, p95, p99 = (percentile(seconds, q) * 1000 for q in (50, 95, 99))
            figures[label] = {"p50_ms": p50, "p95_ms": p95, "p99_ms": p99}
            rows.append((label, p50, p95, p99, statistics.mean(seconds) * 1000,
                         "yes" if p95 < 200 else "NO"))  # fmt: skip
        print_table(
            f"Server time with {args.rows:,} recordings ({args.iterations} requests each)",
            ["page", "p50 ms", "p95 ms", "p99 ms", "mean ms", "p95 < 200 ms"],
            rows,
        )
        breakdown = dashboard_breakdown(runtime, args.iterations)
        slowest_first = sorted(breakdown.items(), key=lambda kv: kv[1], reverse=True)
        print_table(
            "DPO dashboard, each figure alone (median ms)", ["figure", "median ms"], slowest_first
        )
        figures["dashboard_breakdown_ms"] = breakdown
        if args.json:
            args.json.write_text(json.dumps({"rows": args.rows, "pages": figures}, indent=2))
        runtime.engine.dispose()
        set_runtime(None)


if __name__ == "__main__":
    main()
