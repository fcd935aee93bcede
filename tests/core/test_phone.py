"""Phone-number normalisation: every usual Swedish and international form gives one E.164."""

import pytest

from callvault.errors import InvalidPhoneNumber
from callvault.phone import normalise_e164


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("070-123 45 67", "+46701234567"),
        ("+46 70 123 45 67", "+46701234567"),
        ("0046701234567", "+46701234567"),
        ("0701234567", "+46701234567"),
        ("08-123 456 78", "+46812345678"),
        ("+44 20 7946 0958", "+442079460958"),
    ],
)
def test_normalise_e164_accepts_usual_forms(raw: str, expected: str) -> None:
    assert normalise_e164(raw) == expected


@pytest.mark.parametrize("raw", ["", "hello", "12", "+46 1"])
def test_normalise_e164_refuses_non_numbers(raw: str) -> None:
    with pytest.raises(InvalidPhoneNumber):
        normalise_e164(raw)
