"""Login (§8): one answer for every refusal, brute-force limits held in the database."""

from __future__ import annotations

import contextlib
import multiprocessing
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy.orm import Session

from callvault.accounts import service, throttle
from callvault.accounts.models import LoginFailure, LoginThrottle
from callvault.accounts.roles import Role
from callvault.audit.models import AuditEntry
from callvault.clock import FixedClock
from callvault.db import make_engine, make_sessionmaker
from callvault.errors import AuthenticationFailed
from callvault.runtime import Runtime
from tests.accounts.conftest import PASSWORD, MakeAccount, totp_now
from tests.schema import create_schema, own_database


def _login(
    client: TestClient, email: str, password: str, totp: str | None = None
) -> tuple[int, dict[str, object]]:
    body = {"email": email, "password": password}
    if totp is not None:
        body["totp"] = totp
    response = client.post("/api/v1/session", json=body)
    return response.status_code, response.json()


def test_correct_password_signs_in_and_sets_the_cookie(
    client: TestClient, make_account: MakeAccount
) -> None:
    account = make_account(Role.QA_MANAGER)
    status, body = _login(client, account.email, PASSWORD)
    assert status == 200
    assert body["role"] == "qa_manager"
    assert body["csrf_token"]
    assert client.get("/api/v1/session").json()["account_id"] == str(account.id)


@pytest.mark.parametrize(
    ("case"),
    ["wrong_password", "unknown_account", "disabled_account", "locked_account", "bad_email"],
)
def test_every_refusal_gives_the_same_401(
    case: str,
    client: TestClient,
    make_account: MakeAccount,
    session: Session,
    runtime: Runtime,
) -> None:
    reference = make_account(Role.QA_MANAGER)
    expected = _login(client, reference.email, "Wrong-Password-Here-1")
    assert expected[0] == 401
    account = make_account(Role.QA_MANAGER)
    email, password = account.email, PASSWORD
    if case == "wrong_password":
        password = "Not-The-Password-77"  # noqa: S105
    elif case == "unknown_account":
        email = "nobody-here@example.org"
    elif case == "disabled_account":
        service.disable_account(session, runtime, account, actor="system", source="cli")
    elif case == "locked_account":
        for _ in range(throttle.CONSECUTIVE_BEFORE_LOCK):
            assert _login(client, email, "Not-The-Password-77")[0] == 401
    elif case == "bad_email":
        email = "not an email"
    assert _login(client, email, password) == expected


def test_five_failures_lock_even_the_right_password_until_the_lock_ends(
    client: TestClient, make_account: MakeAccount, clock: FixedClock
) -> None:
    account = make_account(Role.TRAINING_MANAGER)
    for _ in range(5):
        assert _login(client, account.email, "Not-The-Password-77")[0] == 401
    assert _login(client, account.email, PASSWORD)[0] == 401
    clock.advance(seconds=61)
    assert _login(client, account.email, PASSWORD)[0] == 200


def test_unknown_accounts_lock_exactly_like_known_ones(
    client: TestClient, session: Session, runtime: Runtime
) -> None:
    key = throttle.login_key(runtime.settings.session_secret(), "ghost@example.org")
    for _ in range(5):
        assert _login(client, "ghost@example.org", "Not-The-Password-77")[0] == 401
    row = session.get(LoginThrottle, key)
    assert row is not None and row.locked_until is not None


@pytest.mark.parametrize(
    ("consecutive", "lock"),
    [
        (4, None),
        (5, timedelta(minutes=1)),
        (6, timedelta(minutes=2)),
        (8, timedelta(minutes=8)),
        (11, timedelta(hours=1)),
        (60, timedelta(hours=1)),
    ],
)
def test_the_lock_grows_with_each_further_failure(consecutive: int, lock: timedelta | None) -> None:
    assert throttle.lock_for(consecutive) == lock


def test_never_more_than_100_failures_an_hour_for_one_account(
    session: Session, runtime: Runtime, clock: FixedClock
) -> None:
    secret = runtime.settings.session_secret()
    key = throttle.login_key(secret, "target@example.org")
    counted = 0
    for minute in range(240):
        # a different address every time, so only the per-account limits apply
        address = throttle.address_key(secret, f"198.51.100.{minute % 250}")
        attempt = throttle.reserve_attempt(
            session, key_hash=key, address_hash=address, now=clock.now()
        )
        counted += not attempt.blocked
        clock.advance(minutes=1)
        in_last_hour = session.scalar(
            sa.select(sa.func.count())
            .select_from(LoginFailure)
            .where(LoginFailure.key_hash == key, LoginFailure.at > clock.now() - timedelta(hours=1))
        )
        assert (in_last_hour or 0) <= throttle.ACCOUNT_FAILURES_PER_HOUR
    assert counted < 100  # the growing lock keeps it far below the ceiling


def test_the_hourly_ceiling_blocks_even_without_a_lock(
    session: Session, runtime: Runtime, clock: FixedClock
) -> None:
    secret = runtime.settings.session_secret()
    key = throttle.login_key(secret, "target@example.org")
    for _ in range(throttle.ACCOUNT_FAILURES_PER_HOUR):
        session.add(LoginFailure(key_hash=key, address_hash="x" * 64, at=clock.now()))
    session.flush()
    attempt = throttle.reserve_attempt(
        session, key_hash=key, address_hash="y" * 64, now=clock.now()
    )
    assert attempt.blocked


def test_one_address_spraying_many_accounts_is_blocked(
    client: TestClient, make_account: MakeAccount
) -> None:
    account = make_account(Role.AGENT)
    for n in range(throttle.ADDRESS_FAILURES_PER_WINDOW):
        assert _login(client, f"spray{n}@example.org", "Not-The-Password-77")[0] == 401
    assert _login(client, account.email, PASSWORD)[0] == 401


def test_a_success_clears_the_run_of_failures(
    client: TestClient, make_account: MakeAccount, session: Session, runtime: Runtime
) -> None:
    account = make_account(Role.AGENT)
    for _ in range(4):
        _login(client, account.email, "Not-The-Password-77")
    assert _login(client, account.email, PASSWORD)[0] == 200
    key = throttle.login_key(runtime.settings.session_secret(), account.email)
    row = session.get(LoginThrottle, key, populate_existing=True)
    assert row is not None and row.consecutive_failures == 0 and row.locked_until is None


def test_failures_are_audited_without_the_email(
    client: TestClient, make_account: MakeAccount, session: Session
) -> None:
    account = make_account(Role.AGENT)
    _login(client, account.email, "Not-The-Password-77")
    entry = session.scalars(
        sa.select(AuditEntry).where(AuditEntry.action == "auth.login_failed")
    ).one()
    assert entry.outcome == "refused" and entry.actor == f"account:{account.id}"
    assert account.email not in str(entry.details) + str(entry.reason)


def _attempts_in_a_process(url: str, data_dir: str, secret: str, tries: int, barrier: Any) -> None:
    from callvault.config import Settings

    settings = Settings(
        env="test", data_dir=Path(data_dir), database_url=url, secret_key=SecretStr(secret)
    )
    rt = Runtime.from_settings(settings)
    barrier.wait()
    for _ in range(tries):
        with rt.sessions() as s, contextlib.suppress(AuthenticationFailed):
            service.authenticate(s, rt, "a@example.org", "Not-The-Password-77", None, "10.0.0.1")
    rt.engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def shared_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database of its own that several processes commit to for real."""
    with own_database(tmp_path, postgres=request.param == "postgresql") as url:
        yield url


@pytest.mark.slow
def test_limits_hold_across_processes(shared_database: str, runtime: Runtime) -> None:
    """Three processes guess at once; exactly five guesses are checked before the lock holds."""
    engine = make_engine(shared_database)
    create_schema(engine)
    engine.dispose()
    secret = runtime.settings.session_secret().decode()
    runtime.keyring.ensure()
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(3)
    workers = [
        ctx.Process(
            target=_attempts_in_a_process,
            args=(shared_database, str(runtime.settings.data_dir), secret, 4, barrier),
        )
        for _ in range(3)
    ]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=120)
        assert w.exitcode == 0
    engine = make_engine(shared_database)
    try:
        with make_sessionmaker(engine)() as s:
            key = throttle.login_key(secret.encode(), "a@example.org")
            row = s.get(LoginThrottle, key)
            counted = s.scalar(
                sa.select(sa.func.count())
                .select_from(LoginFailure)
                .where(LoginFailure.key_hash == key)
            )
            assert row is not None and row.locked_until is not None
            assert row.consecutive_failures == 5 and counted == 5
    finally:
        engine.dispose()


def test_unknown_accounts_cost_a_full_verification(
    client: TestClient, make_account: MakeAccount
) -> None:
    account = make_account(Role.AGENT)

    def seconds(email: str) -> float:
        start = time.perf_counter()
        _login(client, email, "Not-The-Password-77")
        return time.perf_counter() - start

    known, unknown = [], []
    for n in range(4):  # interleaved, so load from elsewhere on the machine hits both alike
        known.append(seconds(account.email))
        unknown.append(seconds(f"ghost{n}@example.org"))
    assert min(unknown) > 0.5 * min(known)


def test_a_second_factor_is_needed_once_enrolled(
    client: TestClient, make_account: MakeAccount, clock: FixedClock
) -> None:
    account = make_account(Role.DPO)
    assert _login(client, account.email, PASSWORD)[0] == 401
    assert _login(client, account.email, PASSWORD, "000000")[0] == 401
    code = totp_now(account, clock)
    assert _login(client, account.email, PASSWORD, code)[0] == 200
    assert _login(client, account.email, PASSWORD, code)[0] == 401  # a code works once
