"""Person names: names known from the call metadata, listed Swedish names, and names after cues."""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import ClassVar

from callvault.redaction.detectors import (
    DetectionContext,
    Token,
    register,
    sentence_initial,
    span_of,
    tokenise,
)
from callvault.redaction.detectors.phonetics import (
    contains_sound,
    ends_like,
    phonetic_key,
    similarity,
)
from callvault.redaction.spans import TextSpan

# Listed names that are also everyday Swedish words: only taken after a cue.
SV_NAME_WORDS = frozenset(
    {"bo", "per", "hans", "max", "siv", "stina", "ulla", "carl", "eva", "dag", "sten", "liv"}
    | {
        "gun",
        "tor",
        "stig",
        "lina",
        "mina",
        "sanna",
        "love",
        "ström",
        "strand",
        "nord",
        "ali",
        "uno",
    }
)
SV_STOP = frozenset(
    [
        "och",
        "som",
        "men",
        "att",
        "det",
        "den",
        "är",
        "var",
        "jag",
        "du",
        "vi",
        "ni",
        "han",
        "hon",
        "de",
        "så",
        "ja",
        "nej",
        "inte",
        "med",
        "på",
        "i",
        "för",
        "till",
        "om",
        "från",
        "har",
        "hade",
        "kan",
        "ska",
        "vill",
        "bara",
        "också",
        "eller",
        "när",
        "här",
        "där",
        "nu",
        "då",
        "hej",
        "tack",
    ]
)


# Everyday words that sound like a name part ("min"/"Malin", "heter"/"Peter") but are the
# sentence going on: a known name must match them exactly, never by sound.
SV_COMMON = SV_STOP | frozenset(
    {"min", "mitt", "mina", "din", "ditt", "man", "heter", "namn", "hon", "honom", "henne"}
)
COMMON_WORDS: dict[str, frozenset[str]] = {"sv": SV_COMMON}


@cache
def name_list(resource: str) -> frozenset[str]:
    text = resources.files("callvault.redaction.data").joinpath(resource).read_text("utf-8")
    return frozenset(
        line.strip().lower() for line in text.splitlines() if line.strip() and line[0] != "#"
    )


@cache
def phonetic_names(resource: str) -> frozenset[str]:
    return frozenset(phonetic_key(n) for n in name_list(resource))


def is_listed_name(word: str) -> bool:
    """Whether a normalised word is, or sounds exactly like, a listed Swedish name."""
    key = phonetic_key(word)
    return any(
        word in name_list(resource) or key in phonetic_names(resource)
        for resource in ("sv_first_names.txt", "sv_surnames.txt")
    )


def name_parts(names: tuple[str, ...]) -> list[str]:
    parts = {p.strip(".,").lower() for n in names for p in n.split()}
    return sorted(p for p in parts if len(p) >= 2)


@register
class KnownNameDetector:
    """Names of the customer (CRM) and the agent (directory), matched fuzzily by sound."""

    entity_type: ClassVar[str] = "PERSON"
    languages: ClassVar[tuple[str, ...]] = ("sv", "en")
    threshold: ClassVar[float] = 0.75

    def detect(self, text: str, context: DetectionContext) -> list[TextSpan]:
        parts = name_parts(context.known_names)
        if not parts:
            return []
        firsts = {n.split()[0].lower() for n in context.known_names if n.split()}
        common = COMMON_WORDS.get(context.language.split("-")[0], frozenset())
        spans = []
        for tok in tokenise(text):
            if tok.norm in common:
                score = 1.0 if tok.norm in parts else 0.0
            else:
                score = max((self._match(tok.norm, p) for p in parts), default=0.0)
                if not score and any(ends_like(tok.norm, f) for f in firsts):
                    score = 0.75  # "tack Henrik" run together: the thanks, then the name
            if score > 0:
                spans.append(TextSpan(tok.start, tok.end, "PERSON", score))
        return spans

    def _match(self, word: str, part: str) -> float:
        if word == part:
            return 1.0
        if len(part) <= 3 or len(word) <= 2:
            # Short names (Per, Eva, Bo) collide with common words: sound-alike only, exact length.
            same = phonetic_key(word) == phonetic_key(part)
            return 0.9 if same else 0.0
        sim = similarity(word, part)
        if sim >= self.threshold:
            return sim
        if contains_sound(word, part):
            return 0.8
        # A possessive or suffixed form ("Magnussons").
        if word.startswith(part[:-1]) and len(word) - len(part) <= 2:
            return 0.8
        return 0.0


class _ListedNames:
    first_names: ClassVar[str]
    surnames: ClassVar[str]
    ambiguous: ClassVar[frozenset[str]] = frozenset()

    def is_surname(self, tok: Token) -> bool:
        return tok.norm in name_list(self.surnames) or phonetic_key(tok.norm) in phonetic_names(
            self.surnames
        )

    def is_listed(self, tok: Token) -> bool:
        key = phonetic_key(tok.norm)
        return (
            tok.norm in name_list(self.first_names)
            or tok.norm in name_list(self.surnames)
            or key in phonetic_names(self.first_names)
            or key in phonetic_names(self.surnames)
        )


@register
class SwedishNameListDetector(_ListedNames):
    """Capitalised Swedish first names and surnames inside a sentence (not its first word)."""

    entity_type: ClassVar[str] = "PERSON"
    languages: ClassVar[tuple[str, ...]] = ("sv",)
    first_names: ClassVar[str] = "sv_first_names.txt"
    surnames: ClassVar[str] = "sv_surnames.txt"
    ambiguous: ClassVar[frozenset[str]] = SV_NAME_WORDS

    def detect(self, text: str, context: DetectionContext) -> list[TextSpan]:
        toks = tokenise(text)
        spans = []
        for i, tok in enumerate(toks):
            if len(tok.norm) < 3 or tok.norm in self.ambiguous or not self.is_listed(tok):
                continue
            if tok.capitalised and not sentence_initial(toks, i):
                spans.append(span_of(toks, i, i, "PERSON", 0.7))
            elif i + 1 < len(toks) and self.is_surname(toks[i + 1]):
                spans.append(span_of(toks, i, i + 1, "PERSON", 0.8))  # "anna svensson"
        return spans


# Cues after which the next words are a name, whatever they are.
SV_NAME_CUES: tuple[tuple[str, ...], ...] = (
    ("jag", "heter"),
    ("heter",),
    ("mitt", "namn", "är"),
    ("namnet", "är"),
    ("pratar", "med"),
    ("talar", "med"),
    ("det", "är"),
    ("hej",),
    ("tack",),
    ("min", "mamma"),
    ("min", "pappa"),
    ("min", "fru"),
    ("min", "man"),
    ("min", "sambo"),
    ("min", "son"),
    ("min", "dotter"),
    ("min", "bror"),
    ("min", "syster"),
    ("min", "kollega"),
)
# After these weaker cues only a word that sounds like a listed name counts.
SV_WEAK_CUES = frozenset({("det", "är"), ("hej",), ("tack",)})


class _NameCues(_ListedNames):
    cues: ClassVar[tuple[tuple[str, ...], ...]]
    weak: ClassVar[frozenset[tuple[str, ...]]]
    stop: ClassVar[frozenset[str]]
    skip: ClassVar[frozenset[str]] = frozenset()

    def detect(self, text: str, context: DetectionContext) -> list[TextSpan]:
        toks = tokenise(text)
        spans = []
        for i in range(len(toks)):
            for cue in self.cues:
                n = len(cue)
                if tuple(t.norm for t in toks[i : i + n]) != cue:
                    continue
                j = i + n
                while j < len(toks) and toks[j].norm in self.skip:
                    j += 1
                weak = cue in self.weak
                taken = self._take(toks, j, weak)
                if taken:
                    spans.append(span_of(toks, j, j + taken - 1, "PERSON", 0.6 if weak else 0.85))
        return sorted(set(spans), key=lambda s: (s.start, s.end))

    def _take(self, toks: list[Token], j: int, weak: bool) -> int:
        taken = 0
        while j + taken < len(toks) and taken < 2:
            tok = toks[j + taken]
            if tok.norm in self.stop or tok.norm.isdigit():
                break
            if weak and not (self.is_listed(tok) or (tok.capitalised and taken == 0)):
                break
            # A second word only when it looks like a surname, not the sentence going on.
            first = toks[j]
            if taken == 1 and not (self.is_surname(tok) or tok.capitalised == first.capitalised):
                break
            taken += 1
            if tok.ends_sentence or tok.raw.endswith(","):
                break
        return taken


@register
class SwedishNameCueDetector(_NameCues):
    """The words after "jag heter", "det är … som ringer", "min mamma", "tack …" and the like."""

    entity_type: ClassVar[str] = "PERSON"
    languages: ClassVar[tuple[str, ...]] = ("sv",)
    first_names: ClassVar[str] = "sv_first_names.txt"
    surnames: ClassVar[str] = "sv_surnames.txt"
    cues = SV_NAME_CUES
    weak = SV_WEAK_CUES
    stop = SV_STOP
    skip = frozenset({"heter", "är", "ju"})
