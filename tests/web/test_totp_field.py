"""The TOTP code fields render clean attributes, so phones offer a number pad."""

from __future__ import annotations

from html.parser import HTMLParser

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from callvault.runtime import Runtime
from tests.web.conftest import CSRF, log_in, make_person


class _Inputs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.inputs: dict[str, dict[str, str | None]] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "input":
            found = dict(attrs)
            self.inputs[str(found.get("name"))] = found


def _input(html: str, name: str) -> dict[str, str | None]:
    parser = _Inputs()
    parser.feed(html)
    return parser.inputs[name]


def _assert_numeric_code_field(attrs: dict[str, str | None]) -> None:
    assert attrs["inputmode"] == "numeric"
    assert attrs["pattern"] == "[0-9 ]*"
    assert attrs["maxlength"] == "8"
    assert attrs["autocomplete"] == "one-time-code"
    assert set(attrs) <= {
        "id", "name", "type", "value", "required", "autocomplete", "aria-describedby",
        "inputmode", "pattern", "maxlength",
    }  # fmt: skip


def test_the_login_code_field_has_a_numeric_input_mode(client: TestClient) -> None:
    _assert_numeric_code_field(_input(client.get("/login").text, "totp"))


def test_the_enrolment_code_field_has_a_numeric_input_mode(
    client: TestClient, runtime: Runtime, session: Session
) -> None:
    person = make_person(session, runtime, "agent", email="enrol@example.org")
    log_in(client, runtime, person)
    page = client.get("/account/totp")
    token = CSRF.search(page.text)
    assert token
    started = client.post("/account/totp/start", data={"csrf_token": token.group(1)})
    _assert_numeric_code_field(_input(started.text, "code"))
