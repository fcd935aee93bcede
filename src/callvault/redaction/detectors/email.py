"""E-mail addresses in their spoken form: "anna punkt svensson snabel-a telia punkt com"."""

from __future__ import annotations

from typing import ClassVar

from callvault.redaction.detectors import DetectionContext, Token, register, span_of, tokenise
from callvault.redaction.spans import TextSpan

SV_AT = ("snabel", "@")
SV_DOT = ("punkt",)
DOMAINS = frozenset({"com", "kom", "se", "nu", "net", "org", "eu", "s", "e", "fi", "no", "dk"})
SV_STOP = frozenset(
    [
        "och",
        "jag",
        "min",
        "mitt",
        "är",
        "det",
        "den",
        "du",
        "ni",
        "tack",
        "ja",
        "har",
        "heter",
        "blir",
        "mejl",
        "mail",
        "e-post",
        "epost",
        "adress",
        "adressen",
        "mejladress",
        "på",
    ]
)


class _SpokenEmail:
    at_words: ClassVar[tuple[str, ...]]
    dot_words: ClassVar[tuple[str, ...]]
    stop: ClassVar[frozenset[str]]
    reach: ClassVar[int] = 4

    def is_at(self, tok: Token) -> bool:
        return any(a in tok.norm for a in self.at_words)

    def is_dot(self, tok: Token) -> bool:
        return any(d in tok.norm for d in self.dot_words)

    def detect(self, text: str, context: DetectionContext) -> list[TextSpan]:
        toks = tokenise(text)
        anchors = [i for i, t in enumerate(toks) if self.is_at(t)]
        dots = [i for i, t in enumerate(toks) if self.is_dot(t)]
        # Without the "at", two "dot"s close together still spell an address.
        if not anchors:
            anchors = [a for a, b in zip(dots, dots[1:], strict=False) if b - a <= 4]
        spans = []
        for a in anchors:
            first = a
            while first > 0 and a - first < self.reach and toks[first - 1].norm not in self.stop:
                first -= 1
            last = a
            while last + 1 < len(toks) and last - a < self.reach:
                nxt = toks[last + 1]
                if nxt.norm in self.stop and not self.is_dot(nxt):
                    break
                last += 1
                if nxt.norm in DOMAINS and self.is_dot(toks[last - 1]):
                    break
            spans.append(span_of(toks, first, last, "EMAIL", 0.9))
        return spans


@register
class SwedishSpokenEmailDetector(_SpokenEmail):
    """Around "snabel-a" (or two "punkt" close together): the words that spell the address."""

    entity_type: ClassVar[str] = "EMAIL"
    languages: ClassVar[tuple[str, ...]] = ("sv",)
    at_words = SV_AT
    dot_words = SV_DOT
    stop = SV_STOP


@register
class EnglishSpokenEmailDetector(_SpokenEmail):
    """Around "at" next to "dot": "anna dot smith at example dot com"."""

    entity_type: ClassVar[str] = "EMAIL"
    languages: ClassVar[tuple[str, ...]] = ("en",)
    at_words = ("@",)
    dot_words = ("dot",)
    stop = frozenset({"and", "my", "is", "it's", "its", "the", "thanks", "yes"})

    def is_at(self, tok: Token) -> bool:
        return tok.norm == "at" or "@" in tok.norm
