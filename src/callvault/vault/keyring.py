"""Key-encryption keys (KEKs): a local key file by default, a KMS behind the same Protocol."""

from __future__ import annotations

import base64
import json
import os
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, cast, runtime_checkable
from urllib.parse import unquote, urlparse

import structlog
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from callvault.config import write_private_file
from callvault.errors import ConfigurationError, IntegrityError, KeyringError

log = structlog.get_logger(__name__)

KEY_FILE_VERSION = 1
_NONCE = 12


@dataclass(frozen=True)
class WrappedKey:
    """A data key encrypted under the KEK named `kek_id`."""

    kek_id: str
    ciphertext: bytes


@runtime_checkable
class Keyring(Protocol):
    """Wraps and unwraps data keys; holds the HMAC key for keyed look-up hashes."""

    def ensure(self) -> bool:
        """Create the keyring if it is missing; True when it was created now."""
        ...

    def check(self) -> None:
        """Raise KeyringError unless wrapping and unwrapping work."""
        ...

    def wrap(self, data_key: bytes, aad: bytes) -> WrappedKey: ...

    def unwrap(self, wrapped: WrappedKey, aad: bytes) -> bytes: ...

    def lookup_key(self) -> bytes:
        """The HMAC key for keyed hashes (never rotated: hashes must stay comparable)."""
        ...

    def active_kek_id(self) -> str: ...

    def rotate(self) -> str:
        """Add a new KEK and make it active (old ones stay for unwrapping); returns its id."""
        ...


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"), validate=True)


def _new_kek_id() -> str:
    return "kek-" + secrets.token_hex(8)


class LocalKeyring:
    """KEKs in a JSON key file, mode 0600: {"version", "active", "keks": {id: b64}, "lookup"}."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._cache: dict[str, Any] | None = None
        self._cache_mtime: int | None = None

    def ensure(self) -> bool:
        with self._lock:
            if self.path.exists():
                self._fix_mode()
                return False
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            kek_id = _new_kek_id()
            doc = {
                "version": KEY_FILE_VERSION,
                "active": kek_id,
                "keks": {kek_id: _b64(secrets.token_bytes(32))},
                "lookup": _b64(secrets.token_bytes(32)),
            }
            self._write(doc)
            log.info("keyring_created", kek_id=kek_id)
            return True

    def _fix_mode(self) -> None:
        mode = self.path.stat().st_mode & 0o777
        if mode & 0o077:
            os.chmod(self.path, 0o600)
            log.warning("keyring_mode_tightened", old_mode=oct(mode))

    def _write(self, doc: dict[str, Any]) -> None:
        write_private_file(self.path, json.dumps(doc, indent=1, sort_keys=True).encode())
        self._cache = None

    def _load(self) -> dict[str, Any]:
        try:
            mtime = self.path.stat().st_mtime_ns
        except FileNotFoundError:
            raise KeyringError("the key file is missing; run `callvault init`") from None
        if self._cache is not None and self._cache_mtime == mtime:
            return self._cache
        try:
            doc = json.loads(self.path.read_bytes())
            if doc.get("version") != KEY_FILE_VERSION or doc["active"] not in doc["keks"]:
                raise ValueError("bad key file")
            for value in doc["keks"].values():
                if len(_unb64(value)) != 32:
                    raise ValueError("bad key length")
            if len(_unb64(doc["lookup"])) != 32:
                raise ValueError("bad lookup key length")
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise KeyringError(f"the key file is unreadable ({type(exc).__name__})") from None
        self._cache, self._cache_mtime = doc, mtime
        return cast(dict[str, Any], doc)

    def _kek(self, kek_id: str) -> bytes:
        keks = self._load()["keks"]
        if kek_id not in keks:
            raise KeyringError(f"key-encryption key {kek_id} is not in the keyring")
        return _unb64(keks[kek_id])

    def check(self) -> None:
        probe = secrets.token_bytes(32)
        if self.unwrap(self.wrap(probe, b"check"), b"check") != probe:
            raise KeyringError("the keyring does not round-trip")
        if self.path.stat().st_mode & 0o077:
            raise KeyringError("the key file is readable by others; chmod 600 it")

    def active_kek_id(self) -> str:
        return str(self._load()["active"])

    def wrap(self, data_key: bytes, aad: bytes) -> WrappedKey:
        kek_id = self.active_kek_id()
        nonce = secrets.token_bytes(_NONCE)
        ct = AESGCM(self._kek(kek_id)).encrypt(nonce, data_key, kek_id.encode() + b"|" + aad)
        return WrappedKey(kek_id, nonce + ct)

    def unwrap(self, wrapped: WrappedKey, aad: bytes) -> bytes:
        kek = self._kek(wrapped.kek_id)
        nonce, ct = wrapped.ciphertext[:_NONCE], wrapped.ciphertext[_NONCE:]
        try:
            return AESGCM(kek).decrypt(nonce, ct, wrapped.kek_id.encode() + b"|" + aad)
        except InvalidTag:
            raise IntegrityError("a wrapped data key failed authentication") from None

    def lookup_key(self) -> bytes:
        return _unb64(self._load()["lookup"])

    def rotate(self) -> str:
        with self._lock:
            doc = dict(self._load())
            kek_id = _new_kek_id()
            doc["keks"] = {**doc["keks"], kek_id: _b64(secrets.token_bytes(32))}
            doc["active"] = kek_id
            self._write(doc)
        log.info("keyring_rotated", kek_id=kek_id)
        return kek_id


class KmsClient(Protocol):
    """The seam to an external KMS (HashiCorp Vault transit, AWS KMS): it never reveals the KEK."""

    def encrypt(self, key_id: str, plaintext: bytes, aad: bytes) -> bytes: ...

    def decrypt(self, key_id: str, ciphertext: bytes, aad: bytes) -> bytes: ...

    def create_key(self) -> str:
        """Create a new key version or key; returns its id."""
        ...

    def ping(self) -> None: ...


class KmsKeyring:
    """A Keyring over a KmsClient. The look-up HMAC key is kept in a file, sealed by the KMS."""

    def __init__(self, client: KmsClient, key_id: str, lookup_path: Path) -> None:
        self.client = client
        self._active = key_id
        self.lookup_path = lookup_path
        self._lookup: bytes | None = None

    def ensure(self) -> bool:
        if self.lookup_path.exists():
            return False
        self.lookup_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        sealed = self.client.encrypt(self._active, secrets.token_bytes(32), b"lookup")
        doc = {"key_id": self._active, "sealed": _b64(sealed)}
        write_private_file(self.lookup_path, json.dumps(doc).encode())
        return True

    def check(self) -> None:
        try:
            self.client.ping()
        except Exception as exc:  # the client is a vendor seam: anything it raises means unusable
            raise KeyringError(f"the KMS is unreachable ({type(exc).__name__})") from None
        self.lookup_key()

    def active_kek_id(self) -> str:
        return self._active

    def wrap(self, data_key: bytes, aad: bytes) -> WrappedKey:
        return WrappedKey(self._active, self.client.encrypt(self._active, data_key, aad))

    def unwrap(self, wrapped: WrappedKey, aad: bytes) -> bytes:
        return self.client.decrypt(wrapped.kek_id, wrapped.ciphertext, aad)

    def lookup_key(self) -> bytes:
        if self._lookup is None:
            try:
                doc = json.loads(self.lookup_path.read_bytes())
            except (OSError, ValueError) as exc:
                reason = type(exc).__name__
                raise KeyringError(f"the look-up key is unreadable ({reason})") from None
            self._lookup = self.client.decrypt(doc["key_id"], _unb64(doc["sealed"]), b"lookup")
        return self._lookup

    def rotate(self) -> str:
        self._active = self.client.create_key()
        return self._active


KmsFactory = Callable[[str], Keyring]
_KMS_FACTORIES: dict[str, KmsFactory] = {}


def register_kms(scheme: str, factory: KmsFactory) -> None:
    """Make `open_keyring` build a KMS-backed keyring for URLs with this scheme."""
    _KMS_FACTORIES[scheme] = factory


def open_keyring(url: str) -> Keyring:
    """`file:///path/keyring.json` (the default) or a registered KMS scheme."""
    parsed = urlparse(url)
    if parsed.scheme == "file":
        return LocalKeyring(Path(unquote(parsed.path)))
    factory = _KMS_FACTORIES.get(parsed.scheme)
    if factory is None:
        raise ConfigurationError(
            f"keyring URL scheme {parsed.scheme!r} is not supported; use file:// or register a KMS"
        )
    return factory(url)
