"""The keyring: a 0600 key file, authenticated wrapping, rotation, and the KMS seam."""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Callable
from pathlib import Path

import pytest

from callvault.errors import ConfigurationError, IntegrityError, KeyringError
from callvault.vault.keyring import (
    KmsKeyring,
    LocalKeyring,
    WrappedKey,
    open_keyring,
    register_kms,
)


@pytest.fixture
def keyring(tmp_path: Path) -> LocalKeyring:
    ring = LocalKeyring(tmp_path / "keys" / "keyring.json")
    ring.ensure()
    return ring


def test_ensure_creates_a_key_file_readable_only_by_its_owner(tmp_path: Path) -> None:
    ring = LocalKeyring(tmp_path / "keys" / "keyring.json")
    assert ring.ensure() is True
    assert ring.path.stat().st_mode & 0o777 == 0o600
    assert ring.ensure() is False


def test_ensure_tightens_a_key_file_others_can_read(keyring: LocalKeyring) -> None:
    os.chmod(keyring.path, 0o644)
    keyring.ensure()
    assert keyring.path.stat().st_mode & 0o777 == 0o600


def test_check_refuses_a_key_file_others_can_read(keyring: LocalKeyring) -> None:
    os.chmod(keyring.path, 0o640)
    with pytest.raises(KeyringError):
        keyring.check()


def test_wrap_then_unwrap_gives_back_the_data_key(keyring: LocalKeyring) -> None:
    key = secrets.token_bytes(32)
    wrapped = keyring.wrap(key, b"artifact-1")
    assert key not in wrapped.ciphertext
    assert keyring.unwrap(wrapped, b"artifact-1") == key


@pytest.mark.parametrize(
    "alter",
    [
        pytest.param(lambda w: (w, b"artifact-2"), id="other-aad"),
        pytest.param(
            lambda w: (
                WrappedKey(w.kek_id, w.ciphertext[:-1] + bytes([w.ciphertext[-1] ^ 1])),
                b"artifact-1",
            ),
            id="flipped-bit",
        ),
        pytest.param(lambda w: (WrappedKey(w.kek_id, w.ciphertext[:20]), b"artifact-1"), id="cut"),
    ],
)
def test_unwrap_detects_a_wrong_context_or_altered_key(
    keyring: LocalKeyring, alter: Callable[[WrappedKey], tuple[WrappedKey, bytes]]
) -> None:
    wrapped, aad = alter(keyring.wrap(secrets.token_bytes(32), b"artifact-1"))
    with pytest.raises(IntegrityError):
        keyring.unwrap(wrapped, aad)


def test_rotate_makes_a_new_active_key_and_keeps_old_ones_for_unwrapping(
    keyring: LocalKeyring,
) -> None:
    key = secrets.token_bytes(32)
    old = keyring.wrap(key, b"a")
    lookup = keyring.lookup_key()
    new_id = keyring.rotate()
    assert new_id != old.kek_id
    assert keyring.active_kek_id() == new_id
    assert keyring.wrap(key, b"a").kek_id == new_id
    assert keyring.unwrap(old, b"a") == key
    assert keyring.lookup_key() == lookup
    assert keyring.path.stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"not json",
        b'{"version": 1}',
        json.dumps({"version": 1, "active": "x", "keks": {"x": "AAAA"}, "lookup": "AAAA"}).encode(),
    ],
    ids=["empty", "not-json", "no-keys", "short-keys"],
)
def test_an_unreadable_key_file_is_a_keyring_error(keyring: LocalKeyring, content: bytes) -> None:
    keyring.path.write_bytes(content)
    with pytest.raises(KeyringError):
        keyring.check()


def test_a_missing_key_file_is_a_keyring_error(tmp_path: Path) -> None:
    with pytest.raises(KeyringError):
        LocalKeyring(tmp_path / "nope.json").check()


class FakeKms:
    """An in-memory KMS that implements the KmsClient seam (keys never leave it)."""

    def __init__(self) -> None:
        self.keys: dict[str, LocalKeyring] = {}
        self.down = False
        self._dir: Path | None = None

    def attach(self, directory: Path) -> FakeKms:
        self._dir = directory
        return self

    def create_key(self) -> str:
        assert self._dir is not None
        key_id = f"kms-{len(self.keys) + 1}"
        ring = LocalKeyring(self._dir / f"{key_id}.json")
        ring.ensure()
        self.keys[key_id] = ring
        return key_id

    def encrypt(self, key_id: str, plaintext: bytes, aad: bytes) -> bytes:
        return self.keys[key_id].wrap(plaintext, aad).ciphertext

    def decrypt(self, key_id: str, ciphertext: bytes, aad: bytes) -> bytes:
        ring = self.keys[key_id]
        return ring.unwrap(WrappedKey(ring.active_kek_id(), ciphertext), aad)

    def ping(self) -> None:
        if self.down:
            raise ConnectionError("unreachable")


def test_kms_keyring_wraps_through_the_kms_and_rotates(tmp_path: Path) -> None:
    kms = FakeKms().attach(tmp_path)
    ring = KmsKeyring(kms, kms.create_key(), tmp_path / "lookup.json")
    assert ring.ensure() is True
    ring.check()
    key = secrets.token_bytes(32)
    old = ring.wrap(key, b"x")
    lookup = ring.lookup_key()
    ring.rotate()
    assert ring.wrap(key, b"x").kek_id != old.kek_id
    assert ring.unwrap(old, b"x") == key
    assert ring.lookup_key() == lookup


def test_kms_keyring_check_fails_when_the_kms_is_down(tmp_path: Path) -> None:
    kms = FakeKms().attach(tmp_path)
    ring = KmsKeyring(kms, kms.create_key(), tmp_path / "lookup.json")
    ring.ensure()
    kms.down = True
    with pytest.raises(KeyringError):
        ring.check()


def test_open_keyring_picks_the_implementation_from_the_url(tmp_path: Path) -> None:
    assert isinstance(open_keyring((tmp_path / "k.json").as_uri()), LocalKeyring)
    kms = FakeKms().attach(tmp_path)
    register_kms("fakekms", lambda url: KmsKeyring(kms, kms.create_key(), tmp_path / "l.json"))
    assert isinstance(open_keyring("fakekms://somewhere/key"), KmsKeyring)
    with pytest.raises(ConfigurationError):
        open_keyring("gopher://nowhere")
