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


def test_the_dpo_dashboard_counts_ingested_consents_and_withdrawals(
    client: TestClient,
    session: Session,
    runtime: Runtime,
    people: dict[str, Person],
    recordings: list[uuid.UUID],
) -> None:
    from callvault.withdrawal.service import withdraw

    withdraw(session, runtime, number="070-765 43 21", actor="system", channel="web")
    withdraw(session, runtime, number="070-765 43 22", actor="system", channel="api")
    log_in(client, runtime, people["dpo"])
    page = client.get("/dpo")
    table = page.text.split("Samtyckesutfall per vecka", 1)[1].split("</table>", 1)[0]
    assert "Återkallelser" in table
    rows = [
        [c.split("</td>")[0] for c in row.split('<td class="num">')[1:]]
        for row in table.split("<tbody>", 1)[1].split("<tr>")[1:]
    ]
    # Pressed 1: the recording ingested a day ago, last week (the other, 85 days ago, is outside
    # the eight weeks shown); withdrawals: the two registered today, this week.
    assert [row[0] for row in rows[-2:]] == ["1", "0"]
    assert [row[-1] for row in rows[-2:]] == ["0", "2"]


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
    assert "Inte kontrollerad ännu" in page.text
    checked = client.post(
        "/audit/verify", data={"csrf_token": token, "back": "/it"}, headers={"HX-Request": "true"}
    )
    assert "Loggboken är obruten" in checked.text


@pytest.mark.parametrize("role", ["it_admin", "dpo"])
def test_after_a_check_the_chain_shows_one_status_only(
    client: TestClient, runtime: Runtime, people: dict[str, Person], role: str
) -> None:
    token = log_in(client, runtime, people[role])
    back = "/it" if role == "it_admin" else "/audit"
    before = client.get(back).text
    assert "Inte kontrollerad ännu" in before
    # htmx replaces the whole status with the check's result ...
    fragment = client.post(
        "/audit/verify", data={"csrf_token": token, "back": back}, headers={"HX-Request": "true"}
    ).text
    assert "Loggboken är obruten" in fragment and "Inte kontrollerad ännu" not in fragment
    assert fragment.count('class="status') == 1
    assert f'name="back" value="{back}"' in fragment
    # ... and without htmx the form goes back to its page, which shows the recorded check.
    page = client.post("/audit/verify", data={"csrf_token": token, "back": back})
    assert page.url.path == back
    status = page.text.split('id="chain-status"', 1)[1].split("</form>", 1)[0]
    assert "Obruten vid senaste kontrollen" in status and "Inte kontrollerad ännu" not in status


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
