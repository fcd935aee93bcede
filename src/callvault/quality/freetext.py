"""Free text in evaluations (comments, disputes, answers) goes through the redaction detectors:
text that holds a name, a number, a personnummer or an e-mail address is refused, and the
message says which kind was found, never the value."""

from __future__ import annotations

import re

from callvault.errors import InvalidInput
from callvault.redaction.detectors import DetectionContext, detectors_for
from callvault.redaction.detectors.numbers import is_personnummer, is_phone

MAX_TEXT = 2000
KIND_NAMES = {
    "PERSON": "a name",
    "PERSONNUMMER": "a personnummer",
    "PHONE": "a phone number",
    "EMAIL": "an e-mail address",
    "ADDRESS": "an address",
    "NUMBER": "a number",
}
_DIGITS = re.compile(r"\D")


def found_kinds(text: str, known_names: tuple[str, ...] = ()) -> list[str]:
    """The kinds of identifier the detectors find in `text` (Swedish and English sets)."""
    kinds: set[str] = set()
    for language in ("sv", "en"):
        context = DetectionContext(language=language, known_names=known_names)
        for detector in detectors_for(language):
            for span in detector.detect(text, context):
                kind = span.entity_type
                if kind == "NUMBER":
                    digits = _DIGITS.sub("", text[span.start : span.end])
                    if is_personnummer(digits):
                        kind = "PERSONNUMMER"
                    elif is_phone(digits):
                        kind = "PHONE"
                    elif len(digits) < 6:
                        continue  # "question 3", "within 5 minutes": not an identifier
                if kind in KIND_NAMES:
                    kinds.add(kind)
    return sorted(kinds)


def checked_text(text: str, what: str = "comment", known_names: tuple[str, ...] = ()) -> str:
    """The text, stripped, if it is fit to keep; otherwise InvalidInput naming the kind found."""
    cleaned = (text or "").strip()
    if not cleaned:
        raise InvalidInput(f"the {what} is empty")
    if len(cleaned) > MAX_TEXT:
        raise InvalidInput(f"a {what} is at most {MAX_TEXT} characters")
    kinds = found_kinds(cleaned, known_names)
    if kinds:
        named = ", ".join(KIND_NAMES[k] for k in kinds)
        raise InvalidInput(
            f"the {what} seems to hold {named}; evaluations keep no caller data, rephrase it"
        )
    return cleaned
