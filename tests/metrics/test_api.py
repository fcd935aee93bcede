"""GET /metrics: only for a `metrics` token; the issue's metrics by name, route templates only."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from callvault.accounts.roles import Role
from callvault.accounts.tokens import create_service_token
from callvault.app import create_app
from callvault.clock import FixedClock
from callvault.policy.models import PolicyVersion
from callvault.recordings.models import RecordingState
from callvault.runtime import Runtime
from tests.access.conftest import MakeAccount, MakeRecording
from tests.accounts.conftest import login

NAMES = (
    "callvault_http_request_duration_seconds_bucket",
    "callvault_jobs_queued",
    "callvault_job_oldest_age_seconds",
    "callvault_pseudonymisation_backlog",
    "callvault_pseudonymisation_failures_total",
    "callvault_deletions_overdue",
    "callvault_provider_deletions_pending",
    "callvault_login_failures_total",
)


@pytest.fixture
def client(runtime: Runtime, policy_version: PolicyVersion) -> Iterator[TestClient]:
    with TestClient(create_app(runtime)) as test_client:
        yield test_client


def _token(session: Session, clock: FixedClock, scope: str) -> dict[str, str]:
    issued = create_service_token(session, clock, name=f"m-{scope}", scope=scope)  # type: ignore[arg-type]
    session.commit()
    return {"Authorization": f"Bearer {issued.token}"}


def test_without_a_metrics_token_the_answer_is_401_or_403(
    client: TestClient, session: Session, clock: FixedClock, make_account: MakeAccount
) -> None:
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer cvt_nope"}).status_code == 401
    for scope in ("ingest", "telephony"):
        assert client.get("/metrics", headers=_token(session, clock, scope)).status_code == 403
    it_admin = make_account(Role.IT_ADMIN)
    login(client, it_admin, clock)
    assert client.get("/metrics").status_code == 403


def test_a_metrics_token_reads_every_named_metric_and_nothing_is_overdue(
    client: TestClient, session: Session, clock: FixedClock
) -> None:
    headers = _token(session, clock, "metrics")
    client.get("/api/v1/recordings/00000000-0000-0000-0000-000000000000")  # a timed request
    answer = client.get("/metrics", headers=headers)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    text = answer.text
    for name in NAMES:
        assert re.search(rf"^{name}[{{ ]", text, re.M), name
    assert re.search(r"^callvault_deletions_overdue 0(\.0)?$", text, re.M)
    # Route templates, never raw paths: the id above must not appear as a label value.
    assert 'route="/api/v1/recordings/{recording_id}"' in text
    assert "00000000-0000-0000-0000-000000000000" not in text


def test_overdue_recordings_and_the_backlog_are_counted(
    client: TestClient, session: Session, clock: FixedClock, make_recording: MakeRecording
) -> None:
    make_recording(state=RecordingState.READY, expires_in=timedelta(days=-1), artifacts=False)
    make_recording(state=RecordingState.INGESTED, artifacts=False)
    session.commit()
    text = client.get("/metrics", headers=_token(session, clock, "metrics")).text
    assert re.search(r"^callvault_deletions_overdue 1(\.0)?$", text, re.M)
    assert re.search(r"^callvault_pseudonymisation_backlog 1(\.0)?$", text, re.M)


def test_a_refused_login_is_counted(
    client: TestClient, session: Session, clock: FixedClock, make_account: MakeAccount
) -> None:
    from callvault.metrics.instruments import LOGIN_FAILURES

    before = LOGIN_FAILURES._value.get()
    account = make_account(Role.AGENT)
    refused = client.post("/api/v1/session", json={"email": account.email, "password": "x" * 12})
    assert refused.status_code == 401
    assert LOGIN_FAILURES._value.get() == before + 1


def test_queued_jobs_are_counted_by_task_with_the_age_of_the_oldest() -> None:
    import time

    from callvault.worker.queue import enqueued_at, huey, queued_jobs, stamped_task_id

    stamp = stamped_task_id(1_700_000_000.5)
    assert enqueued_at(stamp) == pytest.approx(1_700_000_000.5, abs=0.001)
    assert enqueued_at("8f3c0f0e-6d2a-4a43-9a77-3c8a3f2b9b7e") is None  # a plain uuid4

    previous = huey.url
    huey.use("memory://")
    try:
        from callvault.redaction.tasks import pseudonymise

        pseudonymise("00000000-0000-0000-0000-000000000001")
        pseudonymise("00000000-0000-0000-0000-000000000002")
        jobs = queued_jobs()
        count, first = jobs["pseudonymise"]
        assert count == 2
        assert first is not None and time.time() - first < 60
    finally:
        huey.use(previous)


def test_a_separate_metrics_address_serves_without_a_token(
    runtime: Runtime, policy_version: PolicyVersion
) -> None:
    import socket

    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    runtime.settings.metrics_bind = f"127.0.0.1:{port}"
    with TestClient(create_app(runtime)) as main:
        assert main.get("/metrics").status_code == 401  # the main address still wants a token
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
        assert re.search(r"^callvault_deletions_overdue 0(\.0)?$", text, re.M)


@pytest.mark.parametrize("bad", ["9464", "host:", "host:99999", "host:port"])
def test_a_bad_metrics_address_refuses_to_start(bad: str) -> None:
    from callvault.errors import ConfigurationError
    from callvault.metrics.middleware import parse_bind

    with pytest.raises(ConfigurationError):
        parse_bind(bad)
    assert parse_bind(":9464") == ("127.0.0.1", 9464)


def test_multiprocess_mode_adds_up_the_files_of_every_process(tmp_path: Path) -> None:
    """With PROMETHEUS_MULTIPROC_DIR set before start-up, counters live in files there, so a
    count made by another process (a worker) shows in this one's scrape."""
    import os
    import subprocess
    import sys

    shared = tmp_path / "prom"
    shared.mkdir()
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(shared)}
    count = "from callvault.metrics.instruments import LOGIN_FAILURES; LOGIN_FAILURES.inc(3)"
    subprocess.run([sys.executable, "-c", count], env=env, check=True)  # noqa: S603
    scrape = (
        "from prometheus_client import CollectorRegistry, generate_latest\n"
        "from prometheus_client.multiprocess import MultiProcessCollector\n"
        "from callvault.metrics.service import multiprocess_dir\n"
        "assert multiprocess_dir()\n"
        "r = CollectorRegistry(); MultiProcessCollector(r)\n"
        "print(generate_latest(r).decode())\n"
    )
    out = subprocess.run(  # noqa: S603
        [sys.executable, "-c", scrape], env=env, check=True, capture_output=True, text=True
    ).stdout
    assert re.search(r"^callvault_login_failures_total 3(\.0)?$", out, re.M)
