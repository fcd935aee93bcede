"""Identifier detectors: a registry of small classes, one per kind, that return plain spans."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import ClassVar, Protocol, TypeVar

from callvault.redaction.spans import TextSpan


@dataclass(frozen=True)
class DetectionContext:
    """What a detector may know besides the text: the language and names from the metadata."""

    language: str = "sv"
    known_names: tuple[str, ...] = field(default_factory=tuple)


class Detector(Protocol):
    """Finds one kind of identifier in a channel's transcript text."""

    entity_type: ClassVar[str]
    languages: ClassVar[tuple[str, ...]]

    def detect(self, text: str, context: DetectionContext) -> list[TextSpan]: ...


_REGISTRY: list[type[Detector]] = []
D = TypeVar("D", bound=type[Detector])


def register(cls: D) -> D:
    """Class decorator: add a detector to the registry (a new kind is a new class, nothing else)."""
    _REGISTRY.append(cls)
    return cls


def detectors_for(language: str) -> list[Detector]:
    """One instance of every registered detector that handles this language."""
    _load_builtin()
    base = language.split("-")[0].lower()
    return [cls() for cls in _REGISTRY if base in cls.languages]


def _load_builtin() -> None:
    from callvault.redaction.detectors import (  # noqa: F401  (registration side effect)
        address,
        email,
        english,
        names,
        numbers,
    )


@dataclass(frozen=True)
class Token:
    """A whitespace token: its normalised form and where it sits in the text."""

    norm: str
    raw: str
    start: int
    end: int

    @property
    def capitalised(self) -> bool:
        stripped = self.raw.lstrip("\"'([-")
        return bool(stripped) and stripped[0].isupper()

    @property
    def ends_sentence(self) -> bool:
        return self.raw.rstrip("\"')]").endswith((".", "?", "!"))


_EDGE = re.compile(r"^[^\w@+]+|[^\w@]+$", re.UNICODE)


def normalise(word: str) -> str:
    """Lower case, edges stripped of punctuation, Unicode composed (å ä ö stay letters)."""
    return _EDGE.sub("", unicodedata.normalize("NFC", word).lower())


def tokenise(text: str) -> list[Token]:
    return [
        Token(normalise(m.group()), m.group(), m.start(), m.end())
        for m in re.finditer(r"\S+", text)
        if normalise(m.group())
    ]


def span_of(tokens: list[Token], first: int, last: int, entity_type: str, score: float) -> TextSpan:
    """The text span from token `first` to token `last` inclusive."""
    return TextSpan(tokens[first].start, tokens[last].end, entity_type, score)


def sentence_initial(tokens: list[Token], i: int) -> bool:
    return i == 0 or tokens[i - 1].ends_sentence


Predicate = Callable[[Token], bool]
