"""Quality assurance on PostgreSQL (issue 12): a team report over 12 weeks with 1,000,000
evaluations (target p95 < 300 ms) and saving an evaluation draft (target p95 < 50 ms).

    CALLVAULT_TEST_PG=postgresql://postgres@127.0.0.1:5432/test python -m benchmarks.quality \
        [--evaluations 1000000] [--iterations 60]

A throwaway database is created and dropped afterwards. 1,000,000 recordings (20 teams, 200
agents, 85 days) and one submitted evaluation of each are generated inside PostgreSQL with
generate_series; the weekly tables are then built by `quality.aggregates.rebuild`, the same
rows submit keeps in step one by one. Answers are not generated (10 per evaluation would be
10,000,000 rows the report never reads); the per-question weekly rows are generated directly,
one per week, team and question. Requests go in-process through the ASGI app with a signed-in
QA manager, so the time is the server's: routing, authorisation through the grants, the queries
and the JSON, without a network.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient
from pydantic import SecretStr

from benchmarks.common import print_table, throwaway_database
from benchmarks.web import SEED_PURPOSES, SEED_RECORDINGS, percentile
from callvault.accounts import service as accounts
from callvault.accounts.auth import Principal
from callvault.app import create_app
from callvault.config import Settings
from callvault.db import load_models, transaction
from callvault.parts import part_modules
from callvault.runtime import Runtime, set_runtime

PASSWORD = "benchmark passphrase 2026"  # noqa: S105 - a throwaway database
REASON = "benchmark: weekly quality review"
FORM = {
    "title": {"sv": "Kundsamtal", "en": "Customer call"},
    "sections": [
        {
            "title": {"sv": f"Avsnitt {s}", "en": f"Section {s}"},
            "questions": [
                {
                    "text": {"sv": f"Fråga {s}.{q}", "en": f"Question {s}.{q}"},
                    "kind": "scale" if q % 2 else "yes_no",
                    "weight": 1 + q % 3,
                    "critical": q == 0 and s == 0,
                    "allow_na": q == 3,
                }
                for q in range(5)
            ],
        }
        for s in range(3)
    ],
}

SEED_EVALUATIONS = """
INSERT INTO qa_evaluations (id, recording_id, form_version_id, evaluator_id, agent_id, team,
    call_duration_s, week, state, score, failed, calibration_id, created_at, updated_at,
    submitted_at, acknowledged_at, kept_until)
SELECT md5('eval' || r.id)::uuid, r.id, :version, :evaluator, r.agent_id, r.team, r.duration_s,
    date_trunc('week', r.started_at AT TIME ZONE 'Europe/Stockholm')::date, 'submitted',
    CASE WHEN hashtext(r.id::text) % 23 = 0 THEN 0 ELSE 40 + abs(hashtext(r.id::text)) % 61 END,
    hashtext(r.id::text) % 23 = 0, NULL, r.started_at, r.started_at, r.started_at, NULL, NULL
FROM recordings r
ORDER BY r.started_at DESC
LIMIT :evaluations
"""
SEED_QUESTIONS = """
INSERT INTO qa_weekly_question (week, team, question_id, form_id, answered, points_sum,
    not_applicable, zero)
SELECT t.week, t.team, q.id, :form, t.evaluations, t.evaluations * 0.7, 0, t.evaluations / 10
FROM qa_weekly_team t CROSS JOIN qa_questions q WHERE q.form_version_id = :version
"""


def seed(runtime: Runtime, evaluations: int) -> tuple[str, str, str]:
    """A DPO, a QA manager with an all-calls QA grant, a published form and the data; returns
    the QA manager's e-mail, the form id and one covered recording id."""
    from callvault.access.grants import GrantScope, create_grant
    from callvault.access.models import ScopeKind
    from callvault.policy.models import PolicyVersion
    from callvault.quality import forms

    now = runtime.clock.now()
    with transaction(runtime.sessions) as session:
        session.execute(sa.update(PolicyVersion).values(effective_from=now - timedelta(days=365)))
        version = session.scalar(sa.select(PolicyVersion.id))
        dpo = accounts.create_account(
            session, runtime, email="dpo@example.org", role="dpo", password=PASSWORD,
            actor="system", source="cli",
        )  # fmt: skip
        qa = accounts.create_account(
            session, runtime, email="qa@example.org", role="qa_manager", password=PASSWORD,
            actor="system", source="cli",
        )  # fmt: skip
        create_grant(
            session, runtime, Principal(kind="account", id=dpo.id, role="dpo", session_id=None),
            grantee_id=qa.id, purpose="quality_assurance", variant="original",
            scope=GrantScope(ScopeKind.ALL), valid_from=now - timedelta(hours=1),
            valid_until=now + timedelta(days=30), source="cli",
        )  # fmt: skip
        qa_principal = Principal(kind="account", id=qa.id, role="qa_manager", session_id=None)
        form = forms.create_form(
            session, runtime, qa_principal, forms.FormSpec.model_validate(FORM), source="cli"
        )
        forms.publish_form(session, runtime, qa_principal, form.form_id, source="cli")
        form_version, form_id, qa_id = form.id, form.form_id, qa.id
    with runtime.engine.begin() as conn:
        conn.execute(sa.text(SEED_RECORDINGS), {"rows": evaluations, "version": version})
        conn.execute(sa.text(SEED_PURPOSES))
        conn.execute(
            sa.text(SEED_EVALUATIONS),
            {"version": form_version, "evaluator": qa_id, "evaluations": evaluations},
        )
    with transaction(runtime.sessions) as session:
        from callvault.quality import aggregates

        aggregates.rebuild(session)
    with runtime.engine.begin() as conn:
        conn.execute(sa.text(SEED_QUESTIONS), {"form": form_id, "version": form_version})
        recording = conn.execute(sa.text("SELECT id FROM recordings LIMIT 1")).scalar_one()
    with runtime.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE")
    return "qa@example.org", str(form_id), str(recording)


def signed_in(app: object, email: str) -> TestClient:
    client = TestClient(app, base_url="http://bench")  # type: ignore[arg-type]
    response = client.post("/api/v1/session", json={"email": email, "password": PASSWORD})
    if response.status_code != 200:
        raise SystemExit(f"sign-in failed: {response.status_code}")
    client.headers["X-CSRF-Token"] = response.json()["csrf_token"]
    return client


def timed(
    client: TestClient, method: str, url: str, iterations: int, body: Any = None
) -> tuple[list[float], list[float]]:
    """Wall-clock seconds of each request, and this process's CPU seconds (server and client
    threads): on a shared machine the difference is time spent waiting for a core."""
    seconds, cpu = [], []
    for n in range(iterations + 3):
        start, start_cpu = time.perf_counter(), time.process_time()
        kwargs = {"json": body(n)} if body is not None else {}
        response = client.request(method, url, **kwargs)
        elapsed, used = time.perf_counter() - start, time.process_time() - start_cpu
        if response.status_code >= 300:
            raise SystemExit(f"{method} {url} answered {response.status_code}: {response.text}")
        if n >= 3:  # the first few warm caches and the pool
            seconds.append(elapsed)
            cpu.append(used)
    return seconds, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--evaluations", type=int, default=1_000_000)
    parser.add_argument("--iterations", type=int, default=60)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    admin_url = os.environ.get("CALLVAULT_TEST_PG")
    if not admin_url:
        raise SystemExit("set CALLVAULT_TEST_PG=postgresql://postgres@127.0.0.1:5432/test")

    with throwaway_database(admin_url, "quality") as url, tempfile.TemporaryDirectory() as data:
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
        email, form_id, recording_id = seed(runtime, args.evaluations)
        with runtime.engine.connect() as conn:
            counted = conn.execute(sa.text("SELECT count(*) FROM qa_evaluations")).scalar_one()
            weekly = conn.execute(sa.text("SELECT count(*) FROM qa_weekly_agent")).scalar_one()
        print(f"seeded {counted:,} evaluations ({weekly:,} weekly agent rows) "
              f"in {time.perf_counter() - started:.1f} s")  # fmt: skip
        client = signed_in(create_app(runtime), email)
        created = client.post("/api/v1/qa/evaluations", json={
            "recording_id": recording_id, "form_id": form_id, "reason": REASON})  # fmt: skip
        if created.status_code != 201:
            raise SystemExit(f"could not start an evaluation: {created.text}")
        body = created.json()
        questions = [q for s in body["form"]["sections"] for q in s["questions"]]

        def draft(n: int) -> dict[str, object]:
            return {
                "answers": [
                    {"question_id": q["id"], "value": (1 + (n + i) % 5) if q["kind"] == "scale"
                     else ("yes" if (n + i) % 3 else "no")}
                    for i, q in enumerate(questions)
                ],
                "comments": [{"at": 12.5, "text": "Tydlig hälsning och bra sammanfattning."}],
            }  # fmt: skip

        cases = [
            ("team report, 12 weeks (one team)", "GET", "/api/v1/qa/reports?team=team-07",
             None, 300.0),
            ("team report, 12 weeks (all 20 teams)", "GET", "/api/v1/qa/reports", None, 300.0),
            ("save an evaluation draft (15 answers, 1 comment)", "PUT",
             f"/api/v1/qa/evaluations/{body['id']}", draft, 50.0),
        ]  # fmt: skip
        rows = []
        figures: dict[str, dict[str, float]] = {}
        for label, method, path, payload, target in cases:
            seconds, cpu = timed(client, method, path, args.iterations, payload)
            rows.append(_row(label, seconds, cpu, target, figures))
        print_table(
            f"Server time with {counted:,} evaluations ({args.iterations} requests each)",
            ["request", "p50 ms", "p95 ms", "p99 ms", "CPU p50 ms", "target ms", "p95 met"],
            rows,
        )
        if args.json:
            args.json.write_text(json.dumps({"evaluations": counted, "requests": figures},
                                            indent=2))  # fmt: skip
        runtime.engine.dispose()
        set_runtime(None)


def _row(
    label: str,
    seconds: list[float],
    cpu: list[float],
    target: float,
    figures: dict[str, dict[str, float]],
) -> tuple[object, ...]:
    p50, p95, p99 = (percentile(seconds, q) * 1000 for q in (50, 95, 99))
    cpu50 = statistics.median(cpu) * 1000
    figures[label] = {"p50_ms": p50, "p95_ms": p95, "p99_ms": p99, "cpu_p50_ms": cpu50}
    return (label, p50, p95, p99, cpu50, target, "yes" if p95 < target else "NO")


if __name__ == "__main__":
    main()
