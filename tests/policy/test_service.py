"""Version 1 from the bundled texts: seeded once, faithful to the adopted policy, in force."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from callvault.clock import FixedClock
from callvault.errors import ConfigurationError, NotFound
from callvault.policy.identity import EXAMPLE, Identity
from callvault.policy.service import (
    ensure_first_version,
    published_versions,
    retention_days,
    select_purposes,
    version_by_number,
    version_in_force,
)
from callvault.policy.texts import (
    ORIGINAL_SV,
    bundled_text,
    english_genitive,
    prompt_template,
    swedish_genitive,
)
from callvault.runtime import Runtime

SHARED_POLICY = Path(__file__).resolve().parents[3] / "shared/policy/samtalsinspelningspolicy.txt"


def section4_prompt(policy: str) -> list[str]:
    """The words of §4's information text, from "Välkommen…" to "…inte att spelas in."."""
    match = re.search(
        r"Välkommen till Arlo Europes kundtjänst\..*?inte att spelas in\.", policy, re.S
    )
    assert match is not None
    return match.group(0).split()


def test_bundled_original_is_the_adopted_policy_byte_for_byte() -> None:
    if not SHARED_POLICY.exists():
        pytest.skip("no ../shared checkout next to this one")
    assert bundled_text(ORIGINAL_SV) == SHARED_POLICY.read_text(encoding="utf-8")


def test_swedish_text_of_version_1_has_every_word_of_the_policy_in_order() -> None:
    # With the example identity the template is the adopted policy word for word, but for the
    # genitive §1 lacks ("Enligt Verisure Arlo Europe DAC:s … uppfattning").
    filled = EXAMPLE.fill(bundled_text("policy.sv.txt"), "sv").split()
    adopted = bundled_text(ORIGINAL_SV).split()
    assert filled == [("DAC:s" if w == "DAC" else w) for w in adopted]


@pytest.mark.parametrize("language", ["sv", "en"])
def test_bundled_texts_name_no_organisation_of_their_own(language: str) -> None:
    for name in (f"policy.{language}.txt", f"prompt.{language}.txt"):
        assert "Arlo" not in bundled_text(name)
        assert "arlo.com" not in bundled_text(name)


def test_english_translation_has_the_same_eight_sections() -> None:
    headings = re.findall(r"^(\d)\. ", bundled_text("policy.en.txt"), re.M)
    assert headings == [str(n) for n in range(1, 9)]


def test_default_swedish_prompt_is_section_4_word_for_word() -> None:
    prompt = EXAMPLE.fill(prompt_template("sv"), "sv")
    assert prompt.split() == section4_prompt(bundled_text(ORIGINAL_SV))


def test_prompt_takes_the_organisation_and_website() -> None:
    identity = Identity("Exempel Kundservice AB", "Exempel Kundservice AB", "exempel.se", "d@e.se")
    sv = identity.fill(prompt_template("sv"), "sv")
    en = identity.fill(prompt_template("en"), "en")
    assert sv.startswith("Välkommen till Exempel Kundservice AB:s kundtjänst.")
    assert "Exempel Kundservice AB kommer att vara personuppgiftsansvarig" in sv
    assert "integritetsmeddelande på exempel.se." in sv
    assert en.startswith("Welcome to Exempel Kundservice AB’s customer service.")
    assert "Arlo" not in sv + en


@pytest.mark.parametrize(
    ("name", "sv", "en"),
    [
        ("Arlo Europe", "Arlo Europes", "Arlo Europe’s"),
        ("Arlo", "Arlos", "Arlo’s"),
        ("Exempel AB", "Exempel AB:s", "Exempel AB’s"),
        ("Nordbank", "Nordbanks", "Nordbank’s"),
        ("Verisure Arlo Europe DAC", "Verisure Arlo Europe DAC:s", "Verisure Arlo Europe DAC’s"),
        ("Klarnas", "Klarnas", "Klarnas’"),
        ("Hertz", "Hertz", "Hertz’s"),
        ("Kundservice Gris", "Kundservice Gris", "Kundservice Gris’"),
        ("Fax", "Fax", "Fax’s"),
    ],
)
def test_genitive_of_the_organisation_name(name: str, sv: str, en: str) -> None:
    assert swedish_genitive(name) == sv
    assert english_genitive(name) == en


def test_first_version_holds_two_purposes_of_90_days(session: Session, runtime: Runtime) -> None:
    version = ensure_first_version(session, runtime)
    assert version.number == 1
    assert sorted((p.code, p.retention_days, p.variants) for p in version.purposes) == [
        ("quality_assurance", 90, ["pseudonymised", "original"]),
        ("training", 90, ["pseudonymised"]),
    ]
    assert version.text_sv == bundled_text("policy.sv.txt")
    assert version.prompt_sv == prompt_template("sv")
    assert retention_days(select_purposes(version, None)) == 90


def test_first_version_is_created_once(session: Session, runtime: Runtime) -> None:
    first = ensure_first_version(session, runtime)
    again = ensure_first_version(session, runtime)
    assert again.id == first.id
    assert [v.number for v in published_versions(session)] == [1]


def test_no_version_in_force_before_init(session: Session, runtime: Runtime) -> None:
    with pytest.raises(ConfigurationError):
        version_in_force(session, runtime.clock.now())


def test_version_1_is_in_force_from_its_creation(
    session: Session, runtime: Runtime, clock: FixedClock
) -> None:
    version = ensure_first_version(session, runtime)
    assert version_in_force(session, clock.now()).id == version.id
    assert published_versions(session, clock.now() - timedelta(seconds=1)) == []
    assert version_by_number(session, 1).id == version.id
    with pytest.raises(NotFound):
        version_by_number(session, 2)


def test_init_seeds_version_1_once(session: Session, runtime: Runtime) -> None:
    from callvault.policy.setup import initialise

    first = initialise(runtime)
    again = initialise(runtime)
    assert first == again
    assert "version 1 in force" in first[0]
    assert [v.number for v in published_versions(session)] == [1]


def test_art13_is_reachable_under_the_contract_name(session: Session, runtime: Runtime) -> None:
    from callvault.policy.service import art13_information

    ensure_first_version(session, runtime)
    assert art13_information(session, runtime, "caller", "en")["policy_version"] == 1
