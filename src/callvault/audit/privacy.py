"""Keeps personal data out of the audit trail: finds phone numbers and e-mail addresses in text."""

from __future__ import annotations

import re
from collections.abc import Mapping

from callvault.errors import InvalidInput

EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")
# A run of digits with the usual separators. The look-arounds skip digit runs inside UUIDs,
# hex digests and dotted or dashed identifiers, which are what the trail is meant to hold.
PHONE = re.compile(r"(?<![\w\-.:/])\+?\(?\d[\d \-()]{5,}\d(?![\w:/])")
DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
MIN_PHONE_DIGITS, MAX_PHONE_DIGITS = 8, 15


IDENTIFIER = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
    r"|[0-9a-fA-F]{16,}"
)


def _phone_spans(text: str) -> list[tuple[int, int]]:
    # UUIDs and digests are blanked (same length, so spans stay valid) before looking for digits.
    masked = IDENTIFIER.sub(lambda m: "x" * len(m.group()), text)
    spans = []
    for match in PHONE.finditer(masked):
        digits = sum(ch.isdigit() for ch in match.group())
        if MIN_PHONE_DIGITS <= digits <= MAX_PHONE_DIGITS and not DATE.fullmatch(match.group()):
            spans.append(match.span())
    return spans


def personal_data_kinds(text: str) -> list[str]:
    """The kinds of personal data ("email", "phone") that `text` appears to contain."""
    kinds = []
    if EMAIL.search(text):
        kinds.append("email")
    if _phone_spans(EMAIL.sub(" ", text)):
        kinds.append("phone")
    return kinds


def redact_personal_data(text: str) -> tuple[str, list[str]]:
    """`text` with e-mail addresses and phone numbers replaced by markers, and the kinds found."""
    kinds = personal_data_kinds(text)
    if not kinds:
        return text, []
    text = EMAIL.sub("[email]", text)
    for start, end in reversed(_phone_spans(text)):
        text = f"{text[:start]}[phone]{text[end:]}"
    return text, kinds


def refuse_personal_data(value: object, field: str) -> None:
    """Raise InvalidInput if `value` (a string, or JSON-like structure) holds a phone or e-mail.

    The message names the field and the kind, never the value.
    """
    if isinstance(value, str):
        kinds = personal_data_kinds(value)
        if kinds:
            raise InvalidInput(
                f"audit {field} looks like it holds personal data ({', '.join(kinds)}); "
                "audit entries hold ids and keyed hashes only"
            )
    elif isinstance(value, Mapping):
        for key, item in value.items():
            refuse_personal_data(str(key), f"{field} key")
            refuse_personal_data(item, f"{field}.{key}")
    elif isinstance(value, list | tuple):
        for item in value:
            refuse_personal_data(item, field)
    elif value is not None and not isinstance(value, bool | int | float):
        raise InvalidInput(f"audit {field} must be JSON data (ids, counts, flags)")
