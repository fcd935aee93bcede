"""Keeps personal data out of the audit trail: finds phone numbers and e-mail addresses in text."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping

import phonenumbers

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


# A letter glued to a number ("nr0721593360") hides it from the matcher, which wants a number to
# stand apart from words; such letters are blanked (same length) before matching.
# An underscore counts as such a letter ("ärende_0721593360", "072_159_33_60").
LETTER_BY_DIGIT = re.compile(r"[^\W\d](?=\d)|(?<=\d)[^\W\d]")
MATCHER_REGION = "SE"


def _matched_phone_spans(text: str) -> list[tuple[int, int]]:
    """Valid numbers in free text as phonenumbers finds them: `tel:…`, `070.159.33.60`, …"""
    masked = IDENTIFIER.sub(lambda m: "x" * len(m.group()), text)
    masked = LETTER_BY_DIGIT.sub(" ", masked)
    matcher = phonenumbers.PhoneNumberMatcher(
        masked, MATCHER_REGION, leniency=phonenumbers.Leniency.VALID
    )
    return [(m.start, m.end) for m in matcher]


def _merged(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


# Unicode's Default_Ignorable_Code_Point: shown as nothing, though some are letters (Hangul
# fillers, Khmer inherent vowels) or marks (variation selectors) rather than format characters.
DEFAULT_IGNORABLE = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f"
    "\u202a-\u202e\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufff8"
    "\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0000-\U000e0fff]"
)


def visible_text(text: str) -> str:
    """`text` in NFKC with control, format and other invisible characters (NUL, zero-width
    space, bidi marks, Hangul fillers) removed and runs of white space made one space."""
    text = DEFAULT_IGNORABLE.sub("", unicodedata.normalize("NFKC", text))
    kept = (
        " " if ch.isspace() else ch
        for ch in text
        if ch.isspace() or not unicodedata.category(ch).startswith("C")
    )
    return " ".join("".join(kept).split())


def personal_data_kinds(text: str) -> list[str]:
    """The kinds of personal data ("email", "phone") that `text` appears to contain."""
    kinds = []
    if EMAIL.search(text):
        kinds.append("email")
    if _phone_spans(EMAIL.sub(" ", text)):
        kinds.append("phone")
    return kinds


def redact_personal_data(text: str) -> tuple[str, list[str]]:
    """`text` with e-mail addresses and phone numbers replaced by markers, and the kinds found.

    Free text gets a second look for numbers: phonenumbers' matcher (region SE) finds the forms
    the pattern does not (`tel:0721593360`, `nr0721593360`, `070.159.33.60`)."""
    kinds = []
    if EMAIL.search(text):
        kinds.append("email")
        text = EMAIL.sub("[email]", text)
    spans = _merged(_phone_spans(text) + _matched_phone_spans(text))
    if spans:
        kinds.append("phone")
    for start, end in reversed(spans):
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
