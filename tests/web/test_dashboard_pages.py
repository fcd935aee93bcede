"""The DPO and IT dashboards: figures from their parts, overdue in red and in words."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from callvault.policy.models import PolicyVersion
from callvault.recordings.models import Recording
from callvault.runtime import Runtime
from tests.web.conftest import Person, log_in
from tests.web.seed import add_recording


@pytest.fixture
def recordings(
    session: Session, runtime: Runtime, policy_version: PolicyVersion
) -> list[uuid.UUID]:
    runtime.keyring.ensure()
    now = runtime.clock.now()
    return [
        add_recording(session, runtime, call_id=f"CA-dash-{i}", started_at=now - timedelta(days=d))
        for i, d in enumerate((1, 85))  # the second is due for deletion within a week
    ]


def test_the_dpo_dashboard_counts_stored_and_due_and_shows_zero_overdue(
    client: TestClient, runtime: Runtime, people: dict[str, Person], recordings: list[uuid.UUID]
) -> None:
    log_in(client, runtime, people["dpo"])
    page = client.get("/dpo")
    assert page.status_code == 200
    overdue = page.text.split('id="overdue"', 1)[1].split("</li>", 1)[0]
    assert "card-ok" in page.text.split('id="overdue"', 1)[0].rsplit("<li", 1)[1]
    assert "Inga, som sig bör" in overdue
    figures = [p.split("</p>")[0] for p in page.text.split('<p class="figure">')[1:4]]
    assert figures == ["2", "1", "0"]
    assert "data-chart=" in page.text and "Samtycke per vecka" in page.text


def test_an_overdue_recording_turns_the_figure_red_and_says_so(
    client: TestClient,
    session: Session,
    runtime: Runtime,
    people: dict[str, Person],
    recordings: list[uuid.UUID],
) -> None:
    recording = session.get(Recording, recordings[1])
    assert recording is not None
    recording.expires_at = runtime.clock.now() - timedelta(minutes=1)
    session.flush()
    log_in(client, runtime, people["dpo"])
    page = client.get("/dpo")
    card = page.text.split('id="overdue"', 1)[0].rsplit("<li", 1)[1]
    assert "card-bad" in card
    assert "Måste vara 0" in page.text


def test_the_it_dashboard_shows_health_queue_storage_and_the_chain(
    client: TestClient, runtime: Runtime, people: dict[str, Person], recordings: list[uuid.UUID]
) -> None:
    token = log_in(client, runtime, people["it_admin"])
    page = client.get("/it")
    assert page.status_code == 200
    for text in ("Köns längd", "Använt lagringsutrymme", "Senaste gallringen", "Loggboken"):
        assert text in page.text
    checked = client.post("/audit/verify", data={"csrf_token": token})
    assert "Loggboken är obruten" in checked.text


@pytest.mark.parametrize(
    ("role", "path"), [("qa_manager", "/dpo"), ("dpo", "/it"), ("agent", "/it")]
)
def test_dashboards_are_for_their_roles_only(
    client: TestClient, runtime: Runtime, people: dict[str, Person], role: str, path: str
) -> None:
    log_in(client, runtime, people[role])
    assert client.get(path).status_code == 403


def test_stored_counts_are_current_at_once_without_a_cache(
    session: Session, runtime: Runtime, recordings: list[uuid.UUID]
) -> None:
    """The dashboard reads the live tally kept in the same transaction as each change: a new
    recording counts at once, and a deleted one stops counting at once."""
    from callvault.recordings.models import Recording, RecordingState
    from callvault.web.figures import live_recording_counts

    def live_by_counting() -> int:
        return int(
            session.scalar(
                sa.select(sa.func.count())
                .select_from(Recording)
                .where(Recording.state.in_([s.value for s in RecordingState][:3]))
            )
            or 0
        )

    first, _ = live_recording_counts(session, runtime.clock.now())
    assert first == live_by_counting()
    add_recording(session, runtime, call_id="CA-dash-late", started_at=runtime.clock.now())
    assert live_recording_counts(session, runtime.clock.now())[0] == first + 1
    recording = session.get(Recording, recordings[0])
    assert recording is not None
    from callvault.recordings.service import set_state

    set_state(session, recording, RecordingState.DELETING)
    assert live_recording_counts(session, runtime.clock.now())[0] == first
    assert live_by_counting() == first
