"""Employees' Art. 13 information has its own legal basis, which the DPO sets per version."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from callvault.policy.art13 import art13_information
from callvault.policy.drafts import approve_draft, create_draft, draft_changes
from callvault.policy.models import PolicyVersion
from callvault.runtime import Runtime
from tests.policy.conftest import principal


def headings(info: dict[str, object]) -> list[str]:
    return [s["heading"] for s in info["sections"]]  # type: ignore[attr-defined, index]


@pytest.mark.parametrize(
    ("language", "basis", "withdraw"),
    [
        ("sv", "Berättigat intresse (artikel 6.1 f", "Så återkallar du samtycket"),
        ("en", "Legitimate interest (Article 6(1)(f) GDPR)", "How to withdraw consent"),
    ],
)
def test_employees_get_legitimate_interest_by_default_and_no_consent_to_withdraw(
    session: Session,
    runtime: Runtime,
    first_version: PolicyVersion,
    language: str,
    basis: str,
    withdraw: str,
) -> None:
    employee = art13_information(session, runtime, "employee", language)
    assert str(employee["legal_basis"]).startswith(basis)
    assert "Arlo Europe" in str(employee["legal_basis"])  # the organisation filled in
    assert withdraw not in headings(employee)
    assert "samtycke" not in str(employee["rights"]) and "consent" not in str(employee["rights"])
    assert employee["legal_basis_checked_by_dpo"] is False
    caller = art13_information(session, runtime, "caller", language)
    assert withdraw in headings(caller)
    assert caller["legal_basis"] != employee["legal_basis"]


def test_the_dpo_sets_the_employees_basis_in_a_draft(
    session: Session, runtime: Runtime, first_version: PolicyVersion
) -> None:
    dpo = principal("dpo")
    basis_sv = "Kollektivavtal med {organisation} och berättigat intresse (artikel 6.1 f)."
    draft = create_draft(
        session,
        runtime,
        actor=dpo,
        change_note="Rättslig grund för medarbetare enligt kollektivavtalet",
        texts={"employee_basis_sv": basis_sv, "employee_basis_en": "Collective agreement."},
    )
    assert draft_changes(session, draft).texts == ["employee_basis_sv", "employee_basis_en"]
    version = approve_draft(session, runtime, draft.id, actor=dpo)
    assert version.employee_basis_sv == basis_sv
    assert version.text_sv == first_version.text_sv  # the other texts carried over
    info = art13_information(session, runtime, "employee", "sv")
    assert (
        info["legal_basis"]
        == "Kollektivavtal med Arlo Europe och berättigat intresse (artikel 6.1 f)."
    )
    assert info["legal_basis_checked_by_dpo"] is True
