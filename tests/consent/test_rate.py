"""The consent rate per UTC day and policy version, from outcomes that name no caller."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from callvault.accounts.auth import Principal, current_principal
from callvault.clock import FixedClock
from callvault.consent.rate import consent_rate
from callvault.consent.service import record_outcome
from callvault.errors import InvalidInput
from callvault.policy.models import PolicyVersion
from callvault.runtime import Runtime

DAY1 = datetime(2026, 3, 1, 23, 59, tzinfo=UTC)
DAY2 = datetime(2026, 3, 2, 0, 1, tzinfo=UTC)


@pytest.fixture
def version2(session: Session, policy_version: PolicyVersion) -> PolicyVersion:
    v2 = PolicyVersion(
        number=2,
        effective_from=DAY2,
        approved_by=uuid.uuid4(),
        change_note="v2",
        text_sv="t",
        text_en="t",
        prompt_sv="p",
        prompt_en="p",
        created_at=DAY2,
    )
    session.add(v2)
    session.flush()
    return v2


def outcomes(session: Session, version: PolicyVersion, at: datetime, *names: str) -> None:
    for name in names:
        record_outcome(session, at=at, policy_version=version, outcome=name, language="sv")


def test_rate_per_day_and_version(
    session: Session, policy_version: PolicyVersion, version2: PolicyVersion
) -> None:
    outcomes(session, policy_version, DAY1, "accepted", "accepted", "refused", "no_answer")
    outcomes(session, policy_version, DAY2, "refused")
    outcomes(session, version2, DAY2, "accepted", "withdrawn")

    rate = consent_rate(session, date(2026, 3, 1), date(2026, 3, 2)).as_dict()
    assert [
        (r["day"], r["policy_version"], r["accepted"], r["refused"], r["no_answer"])
        for r in rate["days"]
    ] == [  # type: ignore[index]
        ("2026-03-01", 1, 2, 1, 1),
        ("2026-03-02", 1, 0, 1, 0),
        ("2026-03-02", 2, 1, 0, 0),
    ]
    assert rate["days"][0]["rate"] == 0.5  # type: ignore[index]
    assert [(r["policy_version"], r["offered"]) for r in rate["by_version"]] == [(1, 5), (2, 2)]  # type: ignore[index]
    total = rate["total"]
    assert (total["accepted"], total["offered"], total["withdrawn"]) == (3, 7, 1)  # type: ignore[index]


def test_days_outside_the_range_are_left_out(
    session: Session, policy_version: PolicyVersion
) -> None:
    outcomes(session, policy_version, DAY1, "accepted")
    outcomes(session, policy_version, DAY2, "refused")
    rate = consent_rate(session, date(2026, 3, 2), date(2026, 3, 2))
    assert [(r.day, r.refused, r.accepted) for r in rate.rows] == [(date(2026, 3, 2), 1, 0)]
    assert rate.total.rate == 0.0


def test_no_offers_has_no_rate(session: Session, policy_version: PolicyVersion) -> None:
    rate = consent_rate(session, date(2026, 3, 1), date(2026, 3, 31))
    assert rate.rows == [] and rate.total.rate is None


@pytest.mark.parametrize(
    ("start", "end"),
    [(date(2026, 3, 2), date(2026, 3, 1)), (date(2025, 1, 1), date(2026, 3, 1))],
)
def test_bad_ranges_are_refused(session: Session, start: date, end: date) -> None:
    with pytest.raises(InvalidInput):
        consent_rate(session, start, end)


def test_unknown_outcome_is_refused(session: Session, policy_version: PolicyVersion) -> None:
    with pytest.raises(InvalidInput):
        outcomes(session, policy_version, DAY1, "maybe")


@pytest.fixture
def client(
    runtime: Runtime, policy_version: PolicyVersion, session: Session
) -> Iterator[TestClient]:
    from callvault.app import create_app

    session.commit()
    app = create_app(runtime)
    with TestClient(app) as test_client:
        test_client.app_state = app  # type: ignore[attr-defined]
        yield test_client


@pytest.mark.parametrize(("role", "status"), [(None, 401), ("qa_manager", 403), ("dpo", 200)])
def test_rate_api_is_for_the_dpo(
    client: TestClient,
    session: Session,
    policy_version: PolicyVersion,
    clock: FixedClock,
    role: str | None,
    status: int,
) -> None:
    outcomes(session, policy_version, clock.now() - timedelta(days=1), "accepted", "refused")
    session.commit()
    if role:
        who = Principal(kind="account", id=uuid.uuid4(), role=role, session_id=None)
        client.app_state.dependency_overrides[current_principal] = lambda: who  # type: ignore[attr-defined]
    response = client.get("/api/v1/consent/rate")
    assert response.status_code == status
    if status == 200:
        body = response.json()
        assert body["to"] == clock.now().date().isoformat()
        assert body["total"]["offered"] == 2 and body["total"]["rate"] == 0.5
        day = client.get("/api/v1/consent/rate?from=2026-03-01&to=2026-03-01").json()
        assert day["days"][0]["accepted"] == 1


def _ingest_consented(session: Session, runtime: Runtime, call_id: str, at: datetime) -> None:
    import io

    from callvault.recordings.service import ingest_recording
    from tests.recordings.synthetic import meta, wav

    runtime.keyring.ensure()
    ingest_recording(
        session, runtime, io.BytesIO(wav(1.0)), meta(call_id, at), actor="system", source="cli"
    )


def test_consent_from_ingest_counts_once_per_call(
    session: Session, runtime: Runtime, policy_version: PolicyVersion, clock: FixedClock
) -> None:
    started = clock.now() - timedelta(hours=1)
    _ingest_consented(session, runtime, "rate-1", started)
    _ingest_consented(session, runtime, "rate-2", started)
    _ingest_consented(session, runtime, "rate-1", started)  # the same call again: no new consent
    day = clock.now().date()
    rate = consent_rate(session, day, day)
    assert (rate.total.accepted, rate.total.offered, rate.total.rate) == (2, 2, 1.0)
    assert [(r.policy_version, r.accepted) for r in rate.rows] == [(1, 2)]


def test_registered_withdrawals_from_every_channel_are_counted(
    session: Session, runtime: Runtime, policy_version: PolicyVersion, clock: FixedClock
) -> None:
    from callvault.withdrawal.service import withdraw

    runtime.keyring.ensure()
    for channel in ("web", "api", "cli"):
        withdraw(session, runtime, number="070-123 45 67", actor="system", channel=channel)
    clock.advance(days=1)
    withdraw(session, runtime, call_reference="no-such-call", actor="system", channel="web")
    outcomes(session, policy_version, clock.now(), "refused")
    rate = consent_rate(session, clock.now().date() - timedelta(days=1), clock.now().date())
    assert [(r.day, r.policy_version, r.withdrawals) for r in rate.rows] == [
        (date(2026, 3, 2), 1, 3),
        (date(2026, 3, 3), 1, 1),
    ]
    # A withdrawal is not an offer of the prompt: the rate is over offers only.
    assert (rate.total.withdrawals, rate.total.offered, rate.total.withdrawn) == (4, 1, 0)
    assert rate.as_dict()["total"]["withdrawals"] == 4  # type: ignore[index]


def test_the_rate_api_counts_one_consented_ingest(
    client: TestClient, session: Session, runtime: Runtime, clock: FixedClock
) -> None:
    _ingest_consented(session, runtime, "api-rate-1", clock.now() - timedelta(minutes=5))
    session.commit()
    dpo = Principal(kind="account", id=uuid.uuid4(), role="dpo", session_id=None)
    client.app_state.dependency_overrides[current_principal] = lambda: dpo  # type: ignore[attr-defined]
    body = client.get("/api/v1/consent/rate").json()
    assert (body["total"]["accepted"], body["total"]["offered"]) == (1, 1)
