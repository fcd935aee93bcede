"""Sampling: N random covered calls per agent, reproducible from an audited seed, as a queue."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from callvault.access.grants import GrantScope
from callvault.access.models import ScopeKind
from callvault.accounts.models import Account
from callvault.audit.models import AuditEntry
from callvault.clock import FixedClock
from callvault.quality.models import QaSample
from callvault.quality.sampling import draw
from tests.access.conftest import MakeGrant, MakeRecording
from tests.quality.conftest import REASON, ClientFor, published_form

POPULATION = [(uuid.UUID(int=n), f"a-{n % 3}") for n in range(1, 40)]


def test_the_draw_is_a_function_of_population_and_seed() -> None:
    first = draw(POPULATION, "abc123", 2)
    assert first == draw(list(reversed(POPULATION)), "abc123", 2)  # order does not matter
    assert len(first) == 6 and {a for _, a in first} == {"a-0", "a-1", "a-2"}
    assert draw(POPULATION, "other", 2) != first
    assert len(draw(POPULATION[:2], "x", 5)) == 2  # fewer calls than asked: all of them


def test_every_call_is_as_likely_to_be_drawn() -> None:
    four = [(uuid.UUID(int=n), "a-1") for n in range(4)]
    counts = {rid: 0 for rid, _ in four}
    for n in range(400):
        [(picked, _)] = draw(four, f"{n:016x}", 1)
        counts[picked] += 1
    assert all(60 <= c <= 140 for c in counts.values()), counts  # 100 each, ±4.5 sd


@pytest.fixture
def calls(make_recording: MakeRecording, clock: FixedClock) -> list[Any]:
    now = clock.now()
    return [
        make_recording(
            artifacts=False,
            agent_id=f"a-{n % 2}",
            team=f"t-{n % 2}",
            started_at=now - timedelta(days=1, hours=n),
        )
        for n in range(8)
    ]


def _sample(client: Any, form: dict[str, Any], clock: FixedClock, **extra: Any) -> Any:
    now = clock.now()
    return client.post(
        "/api/v1/qa/samples",
        json={
            "form_id": form["id"],
            "from": (now - timedelta(days=7)).isoformat(),
            "until": now.isoformat(),
            "per_agent": 2,
            **extra,
        },
    )


def test_a_sample_draws_per_agent_from_covered_calls_only(
    calls: list[Any],
    qa: Account,
    make_grant: MakeGrant,
    client_for: ClientFor,
    clock: FixedClock,
    session: Session,
) -> None:
    make_grant(qa, scope=GrantScope(ScopeKind.TEAM, team="t-0"))
    client = client_for(qa)
    form = published_form(client)
    response = _sample(client, form, clock)
    assert response.status_code == 201, response.text
    sample = response.json()
    assert sample["population"] == 4 and len(sample["seed"]) == 16
    assert len(sample["items"]) == 2 and {i["agent_id"] for i in sample["items"]} == {"a-0"}
    covered = {str(c.id) for c in calls if c.team == "t-0"}
    assert {i["recording_id"] for i in sample["items"]} <= covered
    entry = session.scalars(
        sa.select(AuditEntry).where(AuditEntry.action == "qa.sample.create")
    ).one()
    assert entry.details["seed"] == sample["seed"] and entry.details["population"] == 4
    # the same seed over the same calls gives the same sample
    again = _sample(client, form, clock, seed=sample["seed"]).json()
    assert [i["recording_id"] for i in again["items"]] == [
        i["recording_id"] for i in sample["items"]
    ]
    assert again["population_sha256"] == sample["population_sha256"]


def test_the_queue_follows_the_evaluations(
    calls: list[Any],
    qa: Account,
    make_grant: MakeGrant,
    client_for: ClientFor,
    clock: FixedClock,
) -> None:
    make_grant(qa)
    client = client_for(qa)
    form = published_form(client)
    sample = _sample(client, form, clock).json()
    first = sample["items"][0]
    assert {i["state"] for i in sample["items"]} == {"todo"}
    created = client.post(
        "/api/v1/qa/evaluations",
        json={"recording_id": first["recording_id"], "form_id": form["id"], "reason": REASON},
    )
    assert created.status_code == 201
    queue = client.get(f"/api/v1/qa/samples/{sample['id']}").json()
    assert queue["items"][0]["evaluation_id"] == created.json()["id"]
    assert queue["items"][0]["state"] == "draft"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"per_agent": 0}, None),
        ({"seed": "0701234567"}, "16 hexadecimal characters"),
        ({"from": "2025-10-01T00:00:00+00:00"}, "at most 92 days"),
        ({"until": "2026-02-01T00:00:00+00:00"}, "ends before"),
    ],
)
def test_bad_samples_are_refused_and_nothing_is_written(
    extra: dict[str, Any],
    message: str | None,
    qa: Account,
    make_grant: MakeGrant,
    client_for: ClientFor,
    clock: FixedClock,
    session: Session,
) -> None:
    make_grant(qa)
    client = client_for(qa)
    form = published_form(client)
    response = _sample(client, form, clock, **extra)
    assert response.status_code == 422
    if message:
        assert message in response.json()["message"]
    assert session.scalar(sa.select(sa.func.count()).select_from(QaSample)) == 0


def test_another_managers_sample_is_not_found(
    calls: list[Any],
    qa: Account,
    make_grant: MakeGrant,
    client_for: ClientFor,
    clock: FixedClock,
    make_account: Any,
) -> None:
    from callvault.accounts.roles import Role

    make_grant(qa)
    client = client_for(qa)
    sample = _sample(client, published_form(client), clock).json()
    other = client_for(make_account(Role.QA_MANAGER))
    assert other.get(f"/api/v1/qa/samples/{sample['id']}").status_code == 404
