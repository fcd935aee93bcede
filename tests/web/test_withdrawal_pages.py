"""Withdrawal of consent through the pages: number, confirmation, reference."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from callvault.clock import FixedClock
from callvault.runtime import Runtime
from tests.web.conftest import Person, log_in

REFERENCE = re.compile(r'<p class="reference"[^>]*>(W-[0-9A-Z]{4}-[0-9A-Z]{4})</p>')


@pytest.mark.parametrize(
    ("role", "number"),
    [("agent", "070-123 45 67"), ("dpo", "+46 70 123 45 67"), ("agent", "0046701234567")],
)
def test_withdrawal_by_number_asks_for_confirmation_then_shows_the_reference(
    client: TestClient, runtime: Runtime, people: dict[str, Person], role: str, number: str
) -> None:
    token = log_in(client, runtime, people[role])
    check = client.post("/withdrawal", data={"csrf_token": token, "by": "number", "value": number})
    assert check.status_code == 200
    assert "+46701234567" in check.text  # the normalised number, to read back to the caller
    assert REFERENCE.search(check.text) is None  # nothing registered yet
    done = client.post(
        "/withdrawal/confirm", data={"csrf_token": token, "by": "number", "value": number}
    )
    assert done.status_code == 200
    assert REFERENCE.search(done.text), "the reference to read to the caller is shown"


def test_an_unreadable_number_is_refused_with_a_hint(
    client: TestClient, runtime: Runtime, people: dict[str, Person]
) -> None:
    token = log_in(client, runtime, people["agent"])
    response = client.post("/withdrawal", data={"csrf_token": token, "by": "number", "value": "x"})
    assert response.status_code == 422
    assert "Det är inget telefonnummer" in response.text


@pytest.mark.parametrize("role", ["training_manager", "qa_manager", "it_admin"])
def test_other_roles_may_not_register_withdrawals(
    client: TestClient, runtime: Runtime, people: dict[str, Person], role: str
) -> None:
    log_in(client, runtime, people[role])
    assert client.get("/withdrawal").status_code == 403


def test_a_call_reference_is_explained_and_its_confirmation_asks_to_check_the_reference(
    client: TestClient, runtime: Runtime, people: dict[str, Person]
) -> None:
    token = log_in(client, runtime, people["agent"])
    form = client.get("/withdrawal").text
    assert "samtals-id:t från telefoniplattformen" in form
    check = client.post(
        "/withdrawal", data={"csrf_token": token, "by": "reference", "value": "CA-web-77"}
    ).text
    assert "Kontrollera samtalsreferensen" in check and "Kontrollera numret" not in check
    by_number = client.post(
        "/withdrawal", data={"csrf_token": token, "by": "number", "value": "070-123 45 67"}
    ).text
    assert "Kontrollera numret" in by_number


def test_the_desk_keeps_a_history_of_withdrawals_without_numbers(
    client: TestClient, runtime: Runtime, people: dict[str, Person]
) -> None:
    token = log_in(client, runtime, people["agent"])
    references = []
    for by, value in (("number", "070-123 45 67"), ("reference", "CA-web-78")):
        assert isinstance(runtime.clock, FixedClock)
        runtime.clock.advance(seconds=1)  # one after the other
        done = client.post(
            "/withdrawal/confirm", data={"csrf_token": token, "by": by, "value": value}
        )
        match = REFERENCE.search(done.text)
        assert match
        references.append(match.group(1))
    history = client.get("/withdrawal").text.split('id="history"', 1)[1]
    rows = history.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    assert [r for r in references[::-1] if r in rows] == references[::-1]
    assert rows.index(references[1]) < rows.index(references[0])  # newest first
    assert "Samtalsreferens" in rows and "Telefonnummer" in rows and "agent@example.org" in rows
    for shape in ("070-123 45 67", "+46701234567", "701234567", "CA-web-78"):
        assert shape not in history
