"""Phone numbers: normalise any usual Swedish or international form to E.164."""

from __future__ import annotations

import phonenumbers

from callvault.errors import InvalidPhoneNumber


def normalise_e164(raw: str, default_region: str = "SE") -> str:
    """`070-123 45 67`, `+46 70 123 45 67` and `0046701234567` all give `+46701234567`."""
    text = raw.strip()
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        parsed = phonenumbers.parse(text, default_region)
    except phonenumbers.NumberParseException:
        raise InvalidPhoneNumber("that is not a phone number") from None
    if not phonenumbers.is_possible_number(parsed):
        raise InvalidPhoneNumber("that is not a possible phone number")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
