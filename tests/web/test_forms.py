"""Form helpers, the QR code and the per-person language."""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from callvault.accounts.models import Account
from callvault.runtime import Runtime
from callvault.web.forms import safe_next
from callvault.web.qr import qr_matrix, qr_svg
from tests.web.conftest import Person, log_in


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/recordings?page=2", "/recordings?page=2"),
        ("https://evil.example/", "/"),
        ("//evil.example/", "/"),
        ("/\\evil.example", "/"),
        ("javascript:alert(1)", "/"),
        ("", "/"),
        (None, "/"),
    ],
)
def test_only_same_site_paths_are_redirect_targets(target: str | None, expected: str) -> None:
    assert safe_next(target) == expected


def test_the_qr_code_has_its_three_finder_patterns_and_an_accessible_title() -> None:
    matrix = qr_matrix("otpauth://totp/callvault:dpo%40example.org?secret=JBSWY3DPEHPK3PXP")
    size = len(matrix)
    assert all(len(row) == size for row in matrix) and (size - 17) % 4 == 0
    for top, left in ((0, 0), (0, size - 7), (size - 7, 0)):
        ring = [matrix[top][left + i] for i in range(7)] + [matrix[top + i][left] for i in range(7)]
        assert all(ring), "a finder pattern's outer ring is dark"
        assert matrix[top + 3][left + 3], "and so is its centre"
    svg = qr_svg("otpauth://x", "QR <code>")
    assert '<title id="qr-title">QR &lt;code&gt;</title>' in svg


def test_a_logged_in_persons_language_is_kept_on_their_account(
    client: TestClient, session: Session, runtime: Runtime, people: dict[str, Person]
) -> None:
    token = log_in(client, runtime, people["agent"])
    response = client.post(
        "/language", data={"csrf_token": token, "language": "en", "next": "/withdrawal"}
    )
    assert '<html lang="en">' in response.text and "Withdrawal of consent" in response.text
    account = session.get(Account, uuid.UUID(people["agent"].id))
    assert account is not None and account.language == "en"
