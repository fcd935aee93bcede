"""Art. 13 information: controller, DPO, purposes, legal basis, retention, rights, withdrawal."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from callvault.errors import InvalidInput
from callvault.policy.art13 import art13_information
from callvault.policy.models import PolicyVersion
from callvault.runtime import Runtime

REQUIRED = (
    "controller",
    "dpo_contact",
    "purposes",
    "legal_basis",
    "retention",
    "rights",
    "how_to_withdraw",
)


@pytest.mark.parametrize("audience", ["caller", "employee"])
@pytest.mark.parametrize("language", ["sv", "en"])
def test_every_art13_element_is_present(
    session: Session, runtime: Runtime, first_version: PolicyVersion, audience: str, language: str
) -> None:
    info = art13_information(session, runtime, audience, language)
    for key in REQUIRED:
        assert info[key], key
    assert info["controller"] == {
        "name": "Verisure Arlo Europe DAC",
        "short_name": "Arlo Europe",
        "website": "www.arlo.com",
    }
    assert info["dpo_contact"] == runtime.settings.dpo_contact
    assert info["retention"]["by_purpose"] == {"training": 90, "quality_assurance": 90}  # type: ignore[index]
    assert info["policy_version"] == 1
    headings = [s["heading"] for s in info["sections"]]  # type: ignore[attr-defined]
    assert len(headings) == 9


def test_callers_learn_every_way_to_withdraw(
    session: Session, runtime: Runtime, first_version: PolicyVersion
) -> None:
    runtime.settings = runtime.settings.model_copy(
        update={"withdrawal_number": "+46812345699", "dpo_contact": "dpo@exempel.se"}
    )
    ways = " ".join(art13_information(session, runtime, "caller", "sv")["how_to_withdraw"])  # type: ignore[arg-type]
    assert "Tryck 9" in ways
    assert "+46812345699" in ways
    assert "dpo@exempel.se" in ways


def test_descriptions_follow_the_language(
    session: Session, runtime: Runtime, first_version: PolicyVersion
) -> None:
    sv = art13_information(session, runtime, "caller", "sv")["purposes"]
    en = art13_information(session, runtime, "caller", "en")["purposes"]
    assert any("Utbildning" in p["description"] for p in sv)  # type: ignore[attr-defined]
    assert any("Training" in p["description"] for p in en)  # type: ignore[attr-defined]


@pytest.mark.parametrize("language", ["sv", "en"])
def test_each_retention_line_reads_period_then_purpose_without_doubled_punctuation(
    session: Session, runtime: Runtime, first_version: PolicyVersion, language: str
) -> None:
    sections = art13_information(session, runtime, "employee", language)["sections"]
    lines = [line for s in sections for line in s["paragraphs"]]  # type: ignore[attr-defined]
    retention = [line for line in lines if line.startswith(("90 dagar: ", "90 days: "))]
    assert len(retention) == 2, lines
    assert not any(".:" in line for line in lines), lines


@pytest.mark.parametrize(("audience", "language"), [("visitor", "sv"), ("caller", "de")])
def test_unknown_audience_or_language_is_refused(
    session: Session, runtime: Runtime, first_version: PolicyVersion, audience: str, language: str
) -> None:
    with pytest.raises(InvalidInput):
        art13_information(session, runtime, audience, language)
