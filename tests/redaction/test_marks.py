"""Who may mark a call, and when: agents only their own calls until 24 hours after them, and
every person at most 20 marks an hour."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import cast

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from callvault.accounts.auth import current_principal
from callvault.accounts.models import Account
from callvault.accounts.roles import Role
from callvault.clock import FixedClock
from callvault.recordings.models import Recording
from callvault.redaction.marks import MARKS_PER_HOUR
from callvault.redaction.models import SensitiveMark
from callvault.redaction.service import marks_for
from callvault.runtime import Runtime
from tests.access import conftest as access_fixtures
from tests.access.conftest import principal_of
from tests.accounts.conftest import MakeAccount

keyring_ready = access_fixtures.keyring_ready
make_account = access_fixtures.make_account

INTERVAL = {"start": 1.0, "end": 2.0}


@pytest.fixture
def client(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    from callvault.app import create_app

    monkeypatch.setattr("callvault.redaction.tasks.pseudonymise", lambda _id: None)
    with TestClient(create_app(runtime)) as test_client:
        yield test_client


@pytest.fixture
def agent(make_account: MakeAccount) -> Account:
    return make_account(Role.AGENT)


def acting_as(client: TestClient, account: Account) -> TestClient:
    cast(FastAPI, client.app).dependency_overrides[current_principal] = lambda: principal_of(
        account
    )
    return client


def _handled_by(session: Session, recording_id: str, agent_id: str) -> Recording:
    recording = session.get(Recording, uuid.UUID(recording_id))
    assert recording is not None
    recording.agent_id = agent_id
    session.flush()
    return recording


@pytest.mark.parametrize("named_by", ["id", "email"])
def test_an_agent_marks_their_own_call(
    client: TestClient, session: Session, stored_call: str, agent: Account, named_by: str
) -> None:
    _handled_by(session, stored_call, str(agent.id) if named_by == "id" else agent.email.upper())
    answer = acting_as(client, agent).post(f"/api/v1/recordings/{stored_call}/marks", json=INTERVAL)
    assert answer.status_code == 201
    assert session.query(SensitiveMark).count() == 1


def test_an_agent_cannot_mark_anothers_call(
    client: TestClient,
    session: Session,
    stored_call: str,
    agent: Account,
    make_account: MakeAccount,
) -> None:
    colleague = make_account(Role.AGENT)
    recording = _handled_by(session, stored_call, colleague.email)
    for ref in (stored_call, recording.call_id):
        answer = acting_as(client, agent).post(f"/api/v1/recordings/{ref}/marks", json=INTERVAL)
        assert answer.status_code == 404
    assert session.query(SensitiveMark).count() == 0


def test_an_agent_marks_only_until_a_day_after_the_call(
    client: TestClient, session: Session, stored_call: str, agent: Account, clock: FixedClock
) -> None:
    recording = _handled_by(session, stored_call, str(agent.id))
    clock.set(recording.ended_at + timedelta(hours=23, minutes=59))
    url = f"/api/v1/recordings/{stored_call}/marks"
    assert acting_as(client, agent).post(url, json=INTERVAL).status_code == 201
    clock.set(recording.ended_at + timedelta(hours=24, minutes=1))
    assert acting_as(client, agent).post(url, json=INTERVAL).status_code == 403


def test_marks_are_limited_per_person_and_hour(
    client: TestClient, session: Session, stored_call: str, agent: Account, clock: FixedClock
) -> None:
    _handled_by(session, stored_call, str(agent.id))
    url = f"/api/v1/recordings/{stored_call}/marks"
    marker = acting_as(client, agent)
    answers = [marker.post(url, json=INTERVAL).status_code for _ in range(MARKS_PER_HOUR + 1)]
    assert answers == [201] * MARKS_PER_HOUR + [429]
    clock.advance(minutes=61)
    assert marker.post(url, json=INTERVAL).status_code == 201


def test_a_mark_made_during_a_call_counts_only_if_the_call_was_the_agents(
    client: TestClient,
    session: Session,
    stored_call: str,
    agent: Account,
    make_account: MakeAccount,
) -> None:
    recording = _handled_by(session, stored_call, str(agent.id))
    call_id = recording.call_id
    colleague = make_account(Role.AGENT)
    qa = make_account(Role.QA_MANAGER)
    for who, start in ((agent, 1.0), (colleague, 5.0)):
        # by call id, as during the call: the answer is the same for both
        session.add(
            SensitiveMark(
                call_id=call_id,
                channel=None,
                start_s=start,
                end_s=start + 1,
                created_by=principal_of(who).actor,
                created_at=recording.started_at + timedelta(seconds=30),
            )
        )
    session.add(
        SensitiveMark(
            call_id=call_id,
            channel=None,
            start_s=9.0,
            end_s=10.0,
            created_by=principal_of(qa).actor,
            created_at=recording.ended_at + timedelta(days=3),
        )
    )
    session.flush()
    assert sorted(m.start for m in marks_for(session, call_id)) == [1.0, 9.0]


@pytest.mark.parametrize("ref", ["call%00id", "a%20b", "x" * 129])
def test_a_reference_no_call_could_have_is_not_found(
    client: TestClient, session: Session, agent: Account, ref: str
) -> None:
    answer = acting_as(client, agent).post(f"/api/v1/recordings/{ref}/marks", json=INTERVAL)
    assert answer.status_code == 404
    assert session.query(SensitiveMark).count() == 0
