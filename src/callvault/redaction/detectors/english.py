"""The English detector set: names after cues, listed names, spoken digits, street addresses."""

from __future__ import annotations

import re
from typing import ClassVar

import phonenumbers

from callvault.redaction.detectors import (
    DetectionContext,
    register,
    sentence_initial,
    span_of,
    tokenise,
)
from callvault.redaction.detectors.names import _ListedNames, _NameCues
from callvault.redaction.spans import TextSpan

EN_DIGITS = {
    "zero": "0", "oh": "0", "o": "0", "one": "1", "two": "2", "three": "3", "four": "4",
    "five": "5", "six": "6", "seven": "7", "eight": "8", "nine": "9", "ten": "10",
    "eleven": "11", "twelve": "12", "thirteen": "13", "fourteen": "14", "fifteen": "15",
    "sixteen": "16", "seventeen": "17", "eighteen": "18", "nineteen": "19", "twenty": "20",
    "thirty": "30", "forty": "40", "fifty": "50", "sixty": "60", "seventy": "70",
    "eighty": "80", "ninety": "90", "double": "", "hundred": "00",
}  # fmt: skip
EN_AMBIGUOUS = frozenset({"one", "o", "oh", "double", "hundred", "ten"})
EN_STREET = re.compile(
    r"^(street|st|road|rd|avenue|ave|lane|drive|close|way|place|court|crescent)$"
)
EN_STOP = frozenset(
    [
        "and",
        "the",
        "a",
        "an",
        "is",
        "it",
        "i",
        "you",
        "we",
        "they",
        "he",
        "she",
        "to",
        "of",
        "in",
        "on",
        "for",
        "with",
        "at",
        "but",
        "so",
        "yes",
        "no",
        "thanks",
    ]
)


def _digits(norm: str) -> str | None:
    if norm.isdigit():
        return norm
    if "-" in norm:  # "twenty-three"
        parts = [EN_DIGITS.get(p) for p in norm.split("-")]
        if all(p is not None for p in parts) and len(parts) == 2:
            return str(int(parts[0] or 0) + int(parts[1] or 0))
    return EN_DIGITS.get(norm)


@register
class EnglishNameListDetector(_ListedNames):
    """Capitalised common English names inside a sentence."""

    entity_type: ClassVar[str] = "PERSON"
    languages: ClassVar[tuple[str, ...]] = ("en",)
    first_names: ClassVar[str] = "en_names.txt"
    surnames: ClassVar[str] = "en_names.txt"

    def detect(self, text: str, context: DetectionContext) -> list[TextSpan]:
        toks = tokenise(text)
        return [
            span_of(toks, i, i, "PERSON", 0.7)
            for i, t in enumerate(toks)
            if t.capitalised and not sentence_initial(toks, i) and self.is_listed(t)
        ]


@register
class EnglishNameCueDetector(_NameCues):
    """The words after "my name is", "this is … calling", "speaking with", "my mother" …"""

    entity_type: ClassVar[str] = "PERSON"
    languages: ClassVar[tuple[str, ...]] = ("en",)
    first_names: ClassVar[str] = "en_names.txt"
    surnames: ClassVar[str] = "en_names.txt"
    cues = (
        ("my", "name", "is"),
        ("name's",),
        ("i'm",),
        ("speaking", "with"),
        ("this", "is"),
        ("thank", "you"),
        ("thanks",),
        ("my", "mother"),
        ("my", "father"),
        ("my", "wife"),
        ("my", "husband"),
    )
    weak = frozenset({("i'm",), ("this", "is"), ("thank", "you"), ("thanks",)})
    stop = EN_STOP


@register
class EnglishSpokenNumberDetector:
    """Runs of spoken digits ("oh seven seven double oh …", "forty two"): fail closed on numbers."""

    entity_type: ClassVar[str] = "NUMBER"
    languages: ClassVar[tuple[str, ...]] = ("en",)

    def detect(self, text: str, context: DetectionContext) -> list[TextSpan]:
        return [
            TextSpan(s.start, s.end, self.entity_type, s.score)
            for s in self.runs(text)
            if self.keep(s.entity_type)
        ]

    def keep(self, kind: str) -> bool:
        return True

    def runs(self, text: str) -> list[TextSpan]:
        toks = tokenise(text)
        spans = []
        i = 0
        while i < len(toks):
            if _digits(toks[i].norm) is None:
                i += 1
                continue
            j = i
            while j + 1 < len(toks) and _digits(toks[j + 1].norm) is not None:
                j += 1
            digits = "".join(_digits(t.norm) or "" for t in toks[i : j + 1])
            single = i == j and (toks[i].norm in EN_AMBIGUOUS or len(digits) < 2)
            if not single:
                spans.append(span_of(toks, i, j, self._kind(digits), 0.8))
            i = j + 1
        return spans

    def _kind(self, digits: str) -> str:  # PHONE when phonenumbers accepts the digits
        try:
            if len(digits) >= 7 and phonenumbers.is_possible_number(
                phonenumbers.parse(digits, "GB")
            ):
                return "PHONE"
        except phonenumbers.NumberParseException:
            pass
        return "NUMBER"


@register
class EnglishStreetAddressDetector:
    """A house number and words ending in a street type: "twelve Baker Street"."""

    entity_type: ClassVar[str] = "ADDRESS"
    languages: ClassVar[tuple[str, ...]] = ("en",)

    def detect(self, text: str, context: DetectionContext) -> list[TextSpan]:
        toks = tokenise(text)
        spans = []
        for i, t in enumerate(toks):
            if not EN_STREET.match(t.norm) or i == 0:
                continue
            first = i - 1
            while first > 0 and i - first < 4 and toks[first - 1].norm not in EN_STOP:
                first -= 1
            spans.append(span_of(toks, first, i, "ADDRESS", 0.8))
        return spans


@register
class EnglishPhoneNumberDetector(EnglishSpokenNumberDetector):
    """A run of spoken digits that phonenumbers accepts as a UK or international number."""

    entity_type: ClassVar[str] = "PHONE"

    def keep(self, kind: str) -> bool:
        return kind == "PHONE"
