"""Tests for the personal-data guard of the audit trail."""

from __future__ import annotations

import uuid

import pytest

from callvault.audit.privacy import (
    personal_data_kinds,
    redact_personal_data,
    refuse_personal_data,
    visible_text,
)
from callvault.errors import InvalidInput


@pytest.mark.parametrize(
    ("text", "kinds"),
    [
        ("+46701234567", ["phone"]),
        ("ring 070-123 45 67 imorgon", ["phone"]),
        ("08-123 456 78", ["phone"]),
        ("(070) 123 45 67.", ["phone"]),
        ("+46 70 123 45 67", ["phone"]),
        ("anna.svensson@example.se", ["email"]),
        ("mail test@example.com or 0701234567", ["email", "phone"]),
        ("Granskning av samtal för kvalitetsuppföljning", []),
        ("123e4567-e89b-12d3-a456-426614174000", []),
        ("12345678-9012-4345-8789-012345678901", []),
        ("recording 12345678-9012-4345-8789-012345678901 and +46701234567", ["phone"]),
        ("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", []),
        ("1234567890abcdef1234567890abcdef", []),
        ("2026-03-02T09:00:00.000000Z", []),
        ("2026-03-02T09:00:00+00:00", []),
        ("2026-03-02", []),
        ("192.168.100.200", []),
        ("call-20260302-000123", []),
        ("CA1234567890abcdef1234567890abcd", []),
        ("ticket 4711", []),
    ],
)
def test_personal_data_kinds_finds_phones_and_emails_but_not_ids(
    text: str, kinds: list[str]
) -> None:
    assert personal_data_kinds(text) == kinds


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("kund +46701234567 klagade", "kund [phone] klagade"),
        ("svar till a.b@example.se snarast", "svar till [email] snarast"),
        ("QA review of ticket 4711", "QA review of ticket 4711"),
        ("tel:0721593360 nr0721593360 070.159.33.60", "tel:[phone] nr[phone] [phone]"),
        ("ring 0721593360nu", "ring [phone]nu"),
        ("ärende_0721593360 och 072_159_33_60", "ärende_[phone] och [phone]"),
        ("uppföljning 2026-03-02 av rec12345678", "uppföljning 2026-03-02 av rec12345678"),
        (
            "grant 12345678-9012-4345-8789-012345678901 ticket 4711",
            "grant 12345678-9012-4345-8789-012345678901 ticket 4711",
        ),
    ],
)
def test_redact_personal_data_replaces_only_the_personal_part(text: str, expected: str) -> None:
    assert redact_personal_data(text)[0] == expected


@pytest.mark.parametrize(
    "value",
    [
        "0701234567",
        {"caller": "+46701234567"},
        {"contact": ["x", "someone@example.org"]},
        {"nested": {"email": "someone@example.org"}},
        {"+46701234567": "key is a number"},
        {"blob": b"bytes"},
    ],
)
def test_refuse_personal_data_refuses_without_echoing_the_value(value: object) -> None:
    with pytest.raises(InvalidInput) as caught:
        refuse_personal_data(value, "details")
    assert "0701234567" not in caught.value.message
    assert "example.org" not in caught.value.message
    assert "46701234567" not in caught.value.message


@pytest.mark.parametrize(
    "value",
    [
        None,
        {"recording_id": "123e4567-e89b-12d3-a456-426614174000", "count": 3, "ok": True},
        {"caller_hash": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"},
        {"purposes": ["training", "quality_assurance"], "duration_s": 61.5},
    ],
)
def test_refuse_personal_data_accepts_ids_counts_and_hashes(value: object) -> None:
    refuse_personal_data(value, "details")


def test_personal_data_kinds_never_flags_random_uuids() -> None:
    flagged = [u for u in (str(uuid.uuid4()) for _ in range(5000)) if personal_data_kinds(u)]
    assert flagged == []


@pytest.mark.parametrize(
    ("raw", "visible"),
    [
        ("a\x00b", "ab"),
        ("zero\u200bwidth", "zerowidth"),
        ("tab\tand\nnewline", "tab and newline"),
        ("\uff21\uff22", "AB"),  # full-width letters under NFKC
        # Letters that show nothing (Hangul fillers, Khmer inherent vowels): default-ignorable
        ("a\u3164\uffa0\u115f\u1160b", "ab"),
        ("a\u17b4\u17b5\u034f\u180bb", "ab"),
    ],
)
def test_visible_text_drops_control_and_format_characters(raw: str, visible: str) -> None:
    assert visible_text(raw) == visible
