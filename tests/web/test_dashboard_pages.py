"""The DPO and IT dashboards: figures from their parts, overdue in red and in words."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
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


def test_stored_counts_are_reused_within_a_minute_and_overdue_is_not(
    session: Session, runtime: Runtime, recordings: list[uuid.UUID]
) -> None:
    from callvault.web.figures import cached_counts

    cache: dict[str, object] = {}
    first = cached_counts(session, runtime.clock.now(), cache)
    add_recording(session, runtime, call_id="CA-dash-late", started_at=runtime.clock.now())
    assert cached_counts(session, runtime.clock.now(), cache) == first
    assert cached_counts(session, runtime.clock.now(), None)[0] == first[0] + 1


def test_the_it_dashboard_alerts_on_a_transfer_that_failed_permanently(
    client: TestClient, session: Session, runtime: Runtime, people: dict[str, Person]
) -> None:
    from callvault.telephony.models import JobState, ProviderRecordingJob

    now = runtime.clock.now()
    session.add(
        ProviderRecordingJob(
            recording_sid="RE" + "f" * 32,
            call_sid="CA" + "f" * 32,
            state=JobState.FAILED_PERMANENTLY.value,
            attempts=1,
            last_error_code="invalid_audio",
            next_attempt_at=now,
            created_at=now,
            updated_at=now,
        )
    )
    session.flush()
    log_in(client, runtime, people["it_admin"])
    page = client.get("/it")
    card = page.text.split('id="transfers-failed-permanently"', 1)
    assert "card-bad" in card[0].rsplit("<li", 1)[1]
    assert '<p class="figure">1</p>' in card[1].split("</li>", 1)[0]
    assert "Överföringar som misslyckats för gott" in page.text
    assert "RE" + "f" * 32 in page.text and "invalid_audio" in page.text


def test_the_it_dashboard_names_transfer_states_in_words_not_codes(
    client: TestClient, runtime: Runtime, people: dict[str, Person]
) -> None:
    log_in(client, runtime, people["it_admin"])
    page = client.get("/it").text
    panel = page.split('id="h-transfers"', 1)[1].split("</section>", 1)[0]
    assert "Väntar på att hämtas: 0" in panel
    assert "provider_deleted" not in panel and "failed_permanently" not in panel


def test_the_dpo_dashboard_warns_while_the_identity_is_the_example(
    client: TestClient,
    session: Session,
    runtime: Runtime,
    people: dict[str, Person],
    policy_version: PolicyVersion,
) -> None:
    from callvault.policy.identity import Identity, record_identity

    log_in(client, runtime, people["dpo"])
    page = client.get("/dpo")
    assert 'id="example-identity"' in page.text
    assert "CALLVAULT_ORGANISATION_NAME" in page.text
    assert "exempelorganisationen" in page.text  # in Swedish
    exempel = Identity("Exempel AB", "Exempel", "www.exempel.se", "dpo@exempel.se")
    record_identity(session, runtime, exempel, actor="system", source="cli")
    session.flush()
    assert 'id="example-identity"' not in client.get("/dpo").text
