"""Spoken numbers: personnummer (Luhn), phone numbers and any run of digits or number words."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar

import phonenumbers

from callvault.redaction.detectors import DetectionContext, Token, register, span_of, tokenise
from callvault.redaction.spans import TextSpan

SV_UNITS = {
    "noll": 0, "nolla": 0, "ett": 1, "en": 1, "etta": 1, "två": 2, "tvåa": 2, "tre": 3, "trea": 3,
    "fyra": 4, "fyr": 4, "fem": 5, "femma": 5, "sex": 6, "sexa": 6, "sju": 7, "sjua": 7,
    "åtta": 8, "nio": 9, "nia": 9,
}  # fmt: skip
SV_TEENS = {
    "tio": 10, "elva": 11, "tolv": 12, "tretton": 13, "fjorton": 14, "femton": 15, "sexton": 16,
    "sjutton": 17, "arton": 18, "aderton": 18, "nitton": 19,
}  # fmt: skip
SV_TENS = {
    "tjugo": 20, "tjugu": 20, "trettio": 30, "tretti": 30, "fyrtio": 40, "förtio": 40, "fyrti": 40,
    "förti": 40, "femtio": 50, "femti": 50, "sextio": 60, "sexti": 60, "sjuttio": 70, "sjutti": 70,
    "åttio": 80, "åtti": 80, "nittio": 90, "nitti": 90,
}  # fmt: skip
_UNIT_ALT = "|".join(sorted((k for k in SV_UNITS if k.isalpha()), key=len, reverse=True))
_TENS_ALT = "|".join(sorted(SV_TENS, key=len, reverse=True))
SV_NUMBER = re.compile(rf"^(?:(?P<tens>{_TENS_ALT})(?P<unit>{_UNIT_ALT})?)$")
# Misheard number words keep their opening sounds ("tretjåt", "nittjo", "femtion").
SV_NUMBER_STEMS = (
    *("noll", "tjugo", "trett", "tretj", "fyrti", "förti", "femti", "sexti"),
    *("sjutti", "sjuti", "åtti", "nitti", "nittj", "nitj", "fjort", "sjutt"),
)
SV_CONNECTORS = frozenset({"och", "-", "–"})
AMBIGUOUS_SINGLE = frozenset({"en", "ett", "sex", "tre"})  # articles and a common word


@dataclass(frozen=True)
class NumberRun:
    """Consecutive number tokens: where they are and the digits they spell when recoverable."""

    first: int
    last: int
    digits: str
    exact: bool  # every token was a clean number word or digits


def spoken_value(norm: str) -> str | None:
    """Digits spelt by one Swedish token ("sjuttiotre" -> "73"), or None."""
    if norm.isdigit():
        return norm
    if norm in SV_UNITS:
        return str(SV_UNITS[norm])
    if norm in SV_TEENS:
        return str(SV_TEENS[norm])
    m = SV_NUMBER.match(norm)
    if m:
        value = SV_TENS[m.group("tens")] + (SV_UNITS[m.group("unit")] if m.group("unit") else 0)
        return str(value)
    return None


def number_like(norm: str) -> bool:
    if spoken_value(norm) is not None:
        return True
    digits = re.sub(r"[\s\-]", "", norm)
    return digits.isdigit() or (len(norm) >= 4 and norm.startswith(SV_NUMBER_STEMS))


def number_runs(toks: list[Token], min_tokens: int = 2) -> list[NumberRun]:
    """Runs of number tokens, allowing "och" and punctuation between them."""
    runs: list[NumberRun] = []
    i = 0
    while i < len(toks):
        if not number_like(toks[i].norm):
            i += 1
            continue
        j = i
        members = [i]
        while j + 1 < len(toks):
            nxt = toks[j + 1].norm
            if number_like(nxt):
                j += 1
                members.append(j)
            elif nxt in SV_CONNECTORS and j + 2 < len(toks) and number_like(toks[j + 2].norm):
                j += 2
                members.append(j)
            else:
                break
        values = [spoken_value(toks[k].norm) for k in members]
        exact = all(v is not None for v in values)
        digits = "".join(v or "" for v in values)
        single_ok = len(members) == 1 and (
            toks[i].norm not in AMBIGUOUS_SINGLE and (len(digits) >= 2 or not exact)
        )
        if len(members) >= min_tokens or single_ok:
            runs.append(NumberRun(i, j, digits, exact))
        i = j + 1
    return runs


def luhn_valid(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def is_personnummer(digits: str) -> bool:
    """10 or 12 digits with a valid check digit (samordningsnummer add 60 to the day)."""
    if len(digits) == 12:
        digits = digits[2:]
    if len(digits) != 10:
        return False
    month, day = int(digits[2:4]), int(digits[4:6])
    if day > 60:
        day -= 60
    return 1 <= month <= 12 and 1 <= day <= 31 and luhn_valid(digits)


def is_phone(digits: str, region: str = "SE") -> bool:
    if len(digits) < 7 or len(digits) > 13:
        return False
    try:
        parsed = phonenumbers.parse(digits, region)
    except phonenumbers.NumberParseException:
        return False
    return phonenumbers.is_possible_number(parsed)


@register
class PersonnummerDetector:
    """A run of spoken digits that is a valid personnummer or samordningsnummer (Luhn)."""

    entity_type: ClassVar[str] = "PERSONNUMMER"
    languages: ClassVar[tuple[str, ...]] = ("sv",)

    def detect(self, text: str, context: DetectionContext) -> list[TextSpan]:
        toks = tokenise(text)
        return [
            span_of(toks, r.first, r.last, "PERSONNUMMER", 0.95)
            for r in number_runs(toks)
            if r.exact and is_personnummer(r.digits)
        ]


@register
class PhoneNumberDetector:
    """A run of spoken digits that phonenumbers accepts as a Swedish or international number."""

    entity_type: ClassVar[str] = "PHONE"
    languages: ClassVar[tuple[str, ...]] = ("sv",)

    def detect(self, text: str, context: DetectionContext) -> list[TextSpan]:
        toks = tokenise(text)
        return [
            span_of(toks, r.first, r.last, "PHONE", 0.9)
            for r in number_runs(toks)
            if r.exact
            and r.digits.startswith("0")
            and is_phone(r.digits)
            and not is_personnummer(r.digits)
        ]


@register
class SpokenDigitsDetector:
    """Any run of digits or number words, garbled or not: fail closed on numbers."""

    entity_type: ClassVar[str] = "NUMBER"
    languages: ClassVar[tuple[str, ...]] = ("sv",)

    def detect(self, text: str, context: DetectionContext) -> list[TextSpan]:
        toks = tokenise(text)
        return [span_of(toks, r.first, r.last, "NUMBER", 0.6) for r in number_runs(toks)]
