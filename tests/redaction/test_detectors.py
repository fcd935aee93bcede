"""Table tests for every registered detector, Swedish and English: (text, expected spans) rows."""

from __future__ import annotations

import pytest

from callvault.redaction.detectors import DetectionContext, detectors_for
from callvault.redaction.detectors.address import (
    SwedishPostalCodeDetector,
    SwedishStreetAddressDetector,
)
from callvault.redaction.detectors.email import (
    EnglishSpokenEmailDetector,
    SwedishSpokenEmailDetector,
)
from callvault.redaction.detectors.english import (
    EnglishNameCueDetector,
    EnglishNameListDetector,
    EnglishPhoneNumberDetector,
    EnglishSpokenNumberDetector,
    EnglishStreetAddressDetector,
)
from callvault.redaction.detectors.names import (
    KnownNameDetector,
    SwedishNameCueDetector,
    SwedishNameListDetector,
)
from callvault.redaction.detectors.numbers import (
    PersonnummerDetector,
    PhoneNumberDetector,
    SpokenDigitsDetector,
    is_personnummer,
    luhn_valid,
    spoken_value,
)

SV = DetectionContext("sv", ("Lena Holmberg", "Maria Ek"))
EN = DetectionContext("en", ("Jane Porter",))


def found(detector: object, text: str, context: DetectionContext) -> list[tuple[str, str]]:
    spans = detector.detect(text, context)  # type: ignore[attr-defined]
    return sorted((text[s.start : s.end], s.entity_type) for s in spans)


def rows(*cases: tuple[str, list[str]], kind: str) -> list[tuple[str, list[tuple[str, str]]]]:
    return [(text, sorted((e, kind) for e in expected)) for text, expected in cases]


@pytest.mark.parametrize(
    ("text", "expected"),
    rows(
        ("Jag heter Lena Holmberg.", ["Lena", "Holmberg."]),
        ("jag heter lena holmbergs", ["lena", "holmbergs"]),  # possessive
        ("Det är Holmbär som ringer", ["Holmbär"]),  # misheard, sounds alike
        ("Tack Maria, hej då", ["Maria,"]),
        ("min kamera är trasig", []),
        ("ek", ["ek"]),  # a short name only when it is exactly the name
        ("eken i parken", []),
        ("Ternlena", ["Ternlena"]),  # run together with the word before
        ("Tamaria sa hon", ["Tamaria"]),  # "tack Maria", the thanks run into the name
        ("Anselmberg", []),  # a surname's ending alone is any "-berg": first names only
        kind="PERSON",
    ),
)
def test_known_names_match_by_sound(text: str, expected: list[tuple[str, str]]) -> None:
    assert found(KnownNameDetector(), text, SV) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    rows(
        ("om min beställning", []),  # "min" is not "Malin"
        ("vad heter du", []),  # "heter" is not "Peter"
        ("det kan man göra", []),
        ("Malin ringer om Peters order", ["Malin", "Peters"]),
        ("Malins", ["Malins"]),
        kind="PERSON",
    ),
)
def test_everyday_words_never_match_a_known_name_by_sound(
    text: str, expected: list[tuple[str, str]]
) -> None:
    context = DetectionContext("sv", ("Malin Öberg", "Peter Lund"))
    assert found(KnownNameDetector(), text, context) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    rows(
        ("Då ringer jag Karin imorgon", ["Karin"]),
        ("Hej jag har pratat med Anders Forsberg om det", ["Anders", "Forsberg"]),
        ("Karin ringde igår", []),  # sentence-initial capital says nothing
        ("karin svensson ringde", ["karin svensson"]),  # first name and surname together
        ("Han tog Hans bil", []),  # names that are common words are left to cues
        ("det går bra", []),
        ("jag pratade med signe åström igår", ["signe åström"]),  # less common names, too
        ("Min son Yusuf har kontot", ["Yusuf"]),
        ("Det är Mina, Till och Ström som gäller", []),  # everyday words, capitalised
        kind="PERSON",
    ),
)
def test_listed_swedish_names(text: str, expected: list[tuple[str, str]]) -> None:
    assert found(SwedishNameListDetector(), text, SV) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    rows(
        ("jag heter zlatko brandqvist och ringer", ["zlatko brandqvist"]),
        ("Mitt namn är Östen.", ["Östen."]),
        ("min mamma Gudrun ringde", ["Gudrun"]),
        ("du pratar med Tuva", ["Tuva"]),
        ("tack Karin", ["Karin"]),
        ("tack så mycket", []),  # weak cue: only a listed or capitalised word
        ("det är bra", []),
        kind="PERSON",
    ),
)
def test_swedish_name_cues(text: str, expected: list[tuple[str, str]]) -> None:
    assert found(SwedishNameCueDetector(), text, SV) == expected


@pytest.mark.parametrize(
    ("word", "value"),
    [("sjuttiotre", "73"), ("noll", "0"), ("fjorton", "14"), ("nittio", "90"), ("katt", None)],
)
def test_spoken_values(word: str, value: str | None) -> None:
    assert spoken_value(word) == value


@pytest.mark.parametrize(
    ("digits", "valid"),
    [("8012189877", True), ("8012189876", False), ("198012189877", True), ("8013189877", False)],
)
def test_personnummer_checks_date_and_luhn(digits: str, valid: bool) -> None:
    assert is_personnummer(digits) == valid
    if valid:
        assert luhn_valid(digits[-10:])


@pytest.mark.parametrize(
    ("text", "expected"),
    rows(
        (
            "mitt personnummer är åtta ett ett två ett åtta, nio åtta sju sex",
            ["åtta ett ett två ett åtta, nio åtta sju sex"],
        ),
        (
            "nitton åttioett tolv arton nittioåtta sjuttiosex",
            ["nitton åttioett tolv arton nittioåtta sjuttiosex"],
        ),
        ("åtta ett ett två ett åtta nio åtta sju fem", []),  # check digit wrong
        ("det kostar tre hundra", []),
        kind="PERSONNUMMER",
    ),
)
def test_personnummer(text: str, expected: list[tuple[str, str]]) -> None:
    assert found(PersonnummerDetector(), text, SV) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    rows(
        (
            "ring mig på noll sju noll, ett två tre, fyrtiofem sextiosju",
            ["noll sju noll, ett två tre, fyrtiofem sextiosju"],
        ),
        ("noll åtta tolv trettiofyra femtiosex", ["noll åtta tolv trettiofyra femtiosex"]),
        ("tre fyra", []),  # too short to be a number anyone can dial
        kind="PHONE",
    ),
)
def test_phone_numbers(text: str, expected: list[tuple[str, str]]) -> None:
    assert found(PhoneNumberDetector(), text, SV) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    rows(
        ("ordern är nittiotvå nittioett trettiotre", ["nittiotvå nittioett trettiotre"]),
        ("fem fem fyra och sju noll", ["fem fem fyra och sju noll"]),
        ("det var tretjåt", ["tretjåt"]),  # a misheard pair word still counts
        ("en kamera och ett batteri", []),  # articles are not numbers on their own
        ("1234 56", ["1234 56"]),
        kind="NUMBER",
    ),
)
def test_spoken_digit_runs(text: str, expected: list[tuple[str, str]]) -> None:
    assert found(SpokenDigitsDetector(), text, SV) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    rows(
        (
            "den är lena punkt holmberg snabel-a telia punkt com tack",
            ["lena punkt holmberg snabel-a telia punkt com"],
        ),
        ("jag har lenaholm snabel a gmail punkt se", ["lenaholm snabel a gmail punkt se"]),
        ("lena punkt holm, gmail punkt com", ["lena punkt holm, gmail punkt com"]),  # no "snabel-a"
        ("det var en punkt i texten", []),
        kind="EMAIL",
    ),
)
def test_swedish_spoken_email(text: str, expected: list[tuple[str, str]]) -> None:
    assert found(SwedishSpokenEmailDetector(), text, SV) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    rows(
        (
            "den ska till Storgatan tolv, fem fem fyra tre sex Jönköping",
            ["Storgatan tolv, fem fem fyra tre sex Jönköping"],
        ),
        ("jag bor på Västra vägen sextio", ["Västra vägen sextio"]),
        ("vägen var lång", []),
        kind="ADDRESS",
    ),
)
def test_swedish_street_addresses(text: str, expected: list[tuple[str, str]]) -> None:
    assert found(SwedishStreetAddressDetector(), text, SV) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    rows(
        ("postnumret är ett ett fem sex tre Stockholm", ["ett ett fem sex tre Stockholm"]),
        ("fyra ett noll fem nio", ["fyra ett noll fem nio"]),
        ("ett två tre", []),
        kind="ADDRESS",
    ),
)
def test_swedish_postal_codes(text: str, expected: list[tuple[str, str]]) -> None:
    assert found(SwedishPostalCodeDetector(), text, SV) == expected


@pytest.mark.parametrize(
    ("detector", "text", "expected"),
    [
        (EnglishNameCueDetector(), "hi my name is Jane Porter and", [("Jane Porter", "PERSON")]),
        (EnglishNameCueDetector(), "this is Michael calling", [("Michael", "PERSON")]),
        (EnglishNameCueDetector(), "this is great", []),
        (EnglishNameListDetector(), "I spoke to Sarah yesterday", [("Sarah", "PERSON")]),
        (
            EnglishSpokenNumberDetector(),
            "it's oh seven seven double oh nine one two three four",
            [("oh seven seven double oh nine one two three four", "NUMBER")],
        ),
        (
            EnglishPhoneNumberDetector(),
            "it's oh seven seven double oh nine one two three four",
            [("oh seven seven double oh nine one two three four", "PHONE")],
        ),
        (EnglishPhoneNumberDetector(), "order forty two fifty", []),
        (EnglishSpokenNumberDetector(), "order forty two fifty", [("forty two fifty", "NUMBER")]),
        (EnglishSpokenNumberDetector(), "one of them", []),
        (
            EnglishSpokenEmailDetector(),
            "jane dot porter at example dot com thanks",
            [("jane dot porter at example dot com", "EMAIL")],
        ),
        (
            EnglishStreetAddressDetector(),
            "I live at twelve Baker Street",
            [("twelve Baker Street", "ADDRESS")],
        ),
    ],
)
def test_english_detectors(detector: object, text: str, expected: list[tuple[str, str]]) -> None:
    assert found(detector, text, EN) == sorted(expected)


@pytest.mark.parametrize("language", ["sv", "en"])
def test_registry_has_a_detector_set_per_language(language: str) -> None:
    kinds = {d.entity_type for d in detectors_for(language)}
    assert {"PERSON", "PHONE", "EMAIL", "ADDRESS"} <= kinds
