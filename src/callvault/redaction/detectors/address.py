"""Street addresses and postal codes: "Storgatan tolv, fem fem fyra tre sex Jönköping"."""

from __future__ import annotations

import re
from typing import ClassVar

from callvault.redaction.detectors import DetectionContext, register, span_of, tokenise
from callvault.redaction.detectors.numbers import number_like, number_runs
from callvault.redaction.spans import TextSpan

SV_STREET = re.compile(
    r"(vägen|väg|gatan|gata|gränd|gränden|stigen|stig|torget|torg|allén|allé|backen|backe|"
    r"leden|led|plan|gången|esplanaden|kajen|parken|vägn|ägen|atan)$"
)
SV_POSTAL_CUES = frozenset({"postnummer", "postnumret", "box"})


@register
class SwedishStreetAddressDetector:
    """A street name by its suffix, with the number, postal code and town that follow it."""

    entity_type: ClassVar[str] = "ADDRESS"
    languages: ClassVar[tuple[str, ...]] = ("sv",)

    def detect(self, text: str, context: DetectionContext) -> list[TextSpan]:
        toks = tokenise(text)
        spans = []
        for i, tok in enumerate(toks):
            m = SV_STREET.search(tok.norm)
            if len(tok.norm) < 5 or m is None:
                continue
            # "vägen" alone is just a road; a street is a compound or follows its name.
            if m.start() == 0 and not (i > 0 and toks[i - 1].capitalised):
                continue
            first = i - 1 if i > 0 and toks[i - 1].capitalised and i > 1 else i  # "Västra vägen"
            last = i
            j = i + 1
            while j < len(toks) and j - i <= 8:
                t = toks[j]
                if number_like(t.norm) or t.norm in {"och", "lägenhet", "uppgång"}:
                    last = j
                elif t.capitalised and j - last <= 1:
                    last = j  # the town
                    break
                else:
                    break
                j += 1
            spans.append(span_of(toks, first, last, "ADDRESS", 0.8))
        return spans


@register
class SwedishPostalCodeDetector:
    """Five spoken digits (a postal code), with the town after them when it is capitalised."""

    entity_type: ClassVar[str] = "ADDRESS"
    languages: ClassVar[tuple[str, ...]] = ("sv",)

    def detect(self, text: str, context: DetectionContext) -> list[TextSpan]:
        toks = tokenise(text)
        spans = []
        for run in number_runs(toks):
            if not (run.exact and len(run.digits) == 5):
                continue
            last = run.last
            if last + 1 < len(toks) and toks[last + 1].capitalised:
                last += 1
            spans.append(span_of(toks, run.first, last, "ADDRESS", 0.85))
        return spans
