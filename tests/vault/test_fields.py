"""Sealed fields and keyed phone hashes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from callvault.errors import IntegrityError
from callvault.vault.fields import phone_lookup_hash, reseal, seal, sealed_kek_id, unseal
from callvault.vault.keyring import LocalKeyring


@pytest.fixture
def keyring(tmp_path: Path) -> LocalKeyring:
    ring = LocalKeyring(tmp_path / "keyring.json")
    ring.ensure()
    return ring


@pytest.mark.parametrize("text", ["+46701234567", "", "Åsa Öberg", "x" * 5000])
def test_seal_then_unseal_gives_back_the_text(keyring: LocalKeyring, text: str) -> None:
    sealed = seal(keyring, text, "recording.caller")
    assert text.encode() not in sealed or text == ""
    assert unseal(keyring, sealed, "recording.caller") == text


def test_sealing_twice_gives_different_bytes(keyring: LocalKeyring) -> None:
    assert seal(keyring, "+46701234567", "c") != seal(keyring, "+46701234567", "c")


@pytest.mark.parametrize(
    ("alter", "context"),
    [
        (lambda s: s, "consent.caller"),
        (lambda s: s[:-1] + bytes([s[-1] ^ 1]), "recording.caller"),
        (lambda s: s[:-3], "recording.caller"),
        (lambda s: s[:4], "recording.caller"),
    ],
    ids=["other-context", "flipped-bit", "cut", "header-only"],
)
def test_unseal_detects_another_context_or_altered_bytes(
    keyring: LocalKeyring, alter: Callable[[bytes], bytes], context: str
) -> None:
    sealed = alter(seal(keyring, "+46701234567", "recording.caller"))
    with pytest.raises(IntegrityError):
        unseal(keyring, sealed, context)


def test_reseal_moves_a_field_to_the_new_key(keyring: LocalKeyring) -> None:
    sealed = seal(keyring, "+46701234567", "c")
    new_kek = keyring.rotate()
    assert sealed_kek_id(sealed) != new_kek
    again = reseal(keyring, sealed, "c")
    assert sealed_kek_id(again) == new_kek
    assert unseal(keyring, again, "c") == "+46701234567"


@pytest.mark.parametrize(
    "form", ["+46701234567", "070-123 45 67", "+46 70 123 45 67", "0046701234567"]
)
def test_phone_hash_is_the_same_for_every_way_of_writing_a_number(
    keyring: LocalKeyring, form: str
) -> None:
    digest = phone_lookup_hash(keyring, form)
    assert digest == phone_lookup_hash(keyring, "+46701234567")
    assert len(digest) == 64 and "46701234567" not in digest


def test_phone_hash_is_keyed_and_tells_numbers_apart(keyring: LocalKeyring, tmp_path: Path) -> None:
    other = LocalKeyring(tmp_path / "other.json")
    other.ensure()
    assert phone_lookup_hash(keyring, "+46701234567") != phone_lookup_hash(keyring, "+46701234568")
    assert phone_lookup_hash(keyring, "+46701234567") != phone_lookup_hash(other, "+46701234567")
