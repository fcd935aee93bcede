"""A rough Swedish phonetic key and fuzzy comparison, so misheard names still match."""

from __future__ import annotations

import re
from difflib import SequenceMatcher

_RULES: tuple[tuple[str, str], ...] = (
    (r"^(sch|skj|stj|sj|sk(?=[eiyäö]))", "#"),
    (r"(sch|skj|stj|sj)", "#"),
    (r"^(tj|kj|k(?=[eiyäö]))", "ç"),
    (r"^(dj|gj|hj|lj)", "j"),
    (r"ph", "f"),
    (r"th", "t"),
    (r"ck", "k"),
    (r"c(?=[eiy])", "s"),
    (r"c", "k"),
    (r"q", "k"),
    (r"x", "ks"),
    (r"z", "s"),
    (r"w", "v"),
    (r"é", "e"),
    (r"ü", "y"),
    (r"(?<=[^aeiouyåäö])h", ""),
    (r"dt$", "t"),
    (r"(.)\1+", r"\1"),
)


def phonetic_key(word: str) -> str:
    key = "".join(ch for ch in word.lower() if ch.isalpha())
    for pattern, repl in _RULES:
        key = re.sub(pattern, repl, key)
    return key


def similarity(a: str, b: str) -> float:
    """0..1 similarity of two words by their phonetic keys."""
    ka, kb = phonetic_key(a), phonetic_key(b)
    if not ka or not kb:
        return 0.0
    return SequenceMatcher(None, ka, kb).ratio()


def contains_sound(haystack: str, needle: str) -> bool:
    """Whether the needle's phonetic key occurs inside the haystack's (run-together words)."""
    kn = phonetic_key(needle)
    return len(kn) >= 4 and kn in phonetic_key(haystack)


def ends_like(word: str, name: str) -> bool:
    """Whether the word ends in all but the first two sounds of a name of five or more: the
    name run together with the word before it ("tack Henrik" heard as "Tänrik")."""
    kw, kn = phonetic_key(word), phonetic_key(name)
    if len(kn) < 5:
        return False
    tail = kn[-max(4, len(kn) - 2) :]
    return kw.endswith(tail)
