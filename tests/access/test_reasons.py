"""Tests for the one rule of what counts as a stated reason."""

from __future__ import annotations

import pytest

from callvault.access.reasons import checked_reason, is_meaningful, normalise_reason
from callvault.errors import InvalidInput


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("  coaching\tsession\n week 12 ", "coaching session week 12"),
        ("ärende\x00\x00 4711", "ärende 4711"),
        ("kvalitets\u200bgranskning", "kvalitetsgranskning"),
        ("\ufb01l\u00e9 review", "filé review"),  # NFKC: the ligature becomes two letters
        ("\u202eevil\u202c text", "evil text"),  # bidi overrides are format characters
    ],
)
def test_reasons_are_normalised(raw: str, normalised: str) -> None:
    assert normalise_reason(raw) == normalised


@pytest.mark.parametrize(
    "raw",
    [
        "\x00" * 12,
        "\u200b" * 12,
        "\u200b\x00" * 20 + "ab",
        "kort",
        "1234567890",  # one word and no letters
        "!!!!! !!!!!",  # no word holds a letter or digit
        "         a",
        "a\u200bb\u200bc\u200bd\u200be",
        "\u3164" * 12,  # Hangul filler: a "letter" that shows nothing
        "\uffa0" * 5 + " " + "\u115f" * 5,
        "",
        None,
    ],
)
def test_meaningless_reasons_are_refused(raw: str | None) -> None:
    with pytest.raises(InvalidInput) as caught:
        checked_reason(raw)
    assert "10 visible characters" in caught.value.message


@pytest.mark.parametrize(
    "raw",
    [
        "coaching session on tone, week 12",
        "Klagomålsärende 2026-17",
        "kvalitetsgranskning",  # one word of 10+ letters
        "QA ärende 4711",
    ],
)
def test_meaningful_reasons_pass(raw: str) -> None:
    assert is_meaningful(normalise_reason(raw))
    assert checked_reason(raw) == normalise_reason(raw)
