"""Key-encryption keys (KEKs): a local key file by default, a KMS behind the same Protocol."""

from __future__ import annotations

import base64
import fcntl
import json
import os
import secrets
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol, cast, runtime_checkable
from urllib.parse import unquote, urlparse

import structlog
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from callvault.config import write_private_file
from callvault.errors import ConfigurationError, IntegrityError, KeyringError
from callvault.vault.epochs import EpochState, is_epoch

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

    def wrap(self, data_key: bytes, aad: bytes, epoch: str | None = None) -> WrappedKey:
        """Wrap under the epoch's current KEK (created on first use), or the active KEK."""
        ...

    def unwrap(self, wrapped: WrappedKey, aad: bytes) -> bytes: ...

    def current_kek_for(self, kek_id: str) -> str:
        """The KEK a key now wrapped by `kek_id` belongs under (rotation's target)."""
        ...

    def epochs(self) -> list[EpochState]:
        """Every epoch the keyring knows, live or destroyed, oldest first."""
        ...

    def destroy_epoch(self, epoch: str, at: datetime) -> list[str]:
        """Destroy the epoch's KEKs (KEK retirement, idempotent); returns the KEK ids."""
        ...

    def has_kek(self, kek_id: str) -> bool:
        """Whether keys wrapped by `kek_id` can still be unwrapped."""
        ...

    def lookup_key(self) -> bytes:
        """The HMAC key for keyed hashes (never rotated: hashes must stay comparable)."""
        ...

    def active_kek_id(self) -> str: ...

    def rotate(self) -> str:
        """Add a new KEK and make it active, and a new current KEK for each live epoch (old
        ones stay for unwrapping until their epoch is destroyed); returns the active id."""
        ...


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"), validate=True)


def _new_kek_id(epoch: str | None = None) -> str:
    return "kek-" + (f"{epoch}-" if epoch else "") + secrets.token_hex(8)


def _check_epoch(epoch: str) -> None:
    if not is_epoch(epoch):
        raise KeyringError(f"not a key epoch: {epoch!r}")


def _epoch_states(epochs: dict[str, Any]) -> list[EpochState]:
    return [
        EpochState(
            epoch=name,
            kek_ids=tuple(entry["keks"]),
            destroyed_at=datetime.fromisoformat(entry["destroyed_at"])
            if entry.get("destroyed_at")
            else None,
        )
        for name, entry in sorted(epochs.items())
    ]


class LocalKeyring:
    """KEKs in a JSON key file, mode 0600: {"version", "active", "keks": {id: b64}, "lookup",
    "epochs": {epoch: {"keks": [id, ...], "destroyed_at": iso | null}}}.

    A destroyed epoch's KEKs are removed from "keks"; only its name and time stay. Changes are
    made under an exclusive lock on a sibling lock file, re-reading the file first, so a server
    and a worker creating the same epoch's KEK at once end up with one.
    """

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
                "epochs": {},
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

    @contextmanager
    def _update(self) -> Iterator[dict[str, Any]]:
        """The key file's current content, written back when the block ends without error."""
        lock_path = self.path.with_name(self.path.name + ".lock")
        with self._lock:
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                self._cache = None
                doc = json.loads(json.dumps(self._load()))
                yield doc
                self._write(doc)
            finally:
                os.close(fd)

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
            doc.setdefault("epochs", {})
            for entry in doc["epochs"].values():
                if not entry.get("destroyed_at") and not all(
                    k in doc["keks"] for k in entry["keks"]
                ):
                    raise ValueError("a live epoch's key is missing")
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
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

    def _epoch_kek_id(self, epoch: str) -> str:
        _check_epoch(epoch)
        entry = self._load()["epochs"].get(epoch)
        if entry is None or not entry["keks"]:
            with self._update() as doc:
                entry = doc["epochs"].get(epoch)
                if entry is None:
                    kek_id = _new_kek_id(epoch)
                    doc["keks"][kek_id] = _b64(secrets.token_bytes(32))
                    entry = doc["epochs"][epoch] = {"keks": [kek_id], "destroyed_at": None}
                    log.info("epoch_kek_created", epoch=epoch, kek_id=kek_id)
        if entry.get("destroyed_at"):
            raise KeyringError(f"the key of epoch {epoch} was destroyed; nothing can join it")
        return str(entry["keks"][-1])

    def wrap(self, data_key: bytes, aad: bytes, epoch: str | None = None) -> WrappedKey:
        kek_id = self._epoch_kek_id(epoch) if epoch else self.active_kek_id()
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

    def current_kek_for(self, kek_id: str) -> str:
        for entry in self._load()["epochs"].values():
            if kek_id in entry["keks"]:
                return str(entry["keks"][-1])
        return self.active_kek_id()

    def epochs(self) -> list[EpochState]:
        return _epoch_states(self._load()["epochs"])

    def destroy_epoch(self, epoch: str, at: datetime) -> list[str]:
        _check_epoch(epoch)
        with self._update() as doc:
            entry = doc["epochs"].setdefault(epoch, {"keks": [], "destroyed_at": None})
            for kek_id in entry["keks"]:
                doc["keks"].pop(kek_id, None)
            if not entry.get("destroyed_at"):
                entry["destroyed_at"] = at.isoformat()
                log.info("epoch_kek_destroyed", epoch=epoch, keks=len(entry["keks"]))
            return list(entry["keks"])

    def has_kek(self, kek_id: str) -> bool:
        return kek_id in self._load()["keks"]

    def lookup_key(self) -> bytes:
        return _unb64(self._load()["lookup"])

    def rotate(self) -> str:
        with self._update() as doc:
            kek_id = _new_kek_id()
            doc["keks"][kek_id] = _b64(secrets.token_bytes(32))
            doc["active"] = kek_id
            for epoch, entry in doc["epochs"].items():
                if not entry.get("destroyed_at"):
                    new = _new_kek_id(epoch)
                    doc["keks"][new] = _b64(secrets.token_bytes(32))
                    entry["keks"].append(new)
        log.info("keyring_rotated", kek_id=kek_id)
        return kek_id


class KmsClient(Protocol):
    """The seam to an external KMS (HashiCorp Vault transit, AWS KMS): it never reveals the KEK."""

    def encrypt(self, key_id: str, plaintext: bytes, aad: bytes) -> bytes: ...

    def decrypt(self, key_id: str, ciphertext: bytes, aad: bytes) -> bytes: ...

    def create_key(self) -> str:
        """Create a new key version or key; returns its id."""
        ...

    def destroy_key(self, key_id: str) -> None:
        """Destroy a key (or schedule it for deletion with the shortest waiting period)."""
        ...

    def ping(self) -> None: ...


class KmsKeyring:
    """A Keyring over a KmsClient. The look-up HMAC key is kept in a file, sealed by the KMS;
    the epochs' KMS key ids sit in a file beside it (ids only: the keys never leave the KMS)."""

    def __init__(self, client: KmsClient, key_id: str, lookup_path: Path) -> None:
        self.client = client
        self._active = key_id
        self.lookup_path = lookup_path
        self.epochs_path = lookup_path.with_name("kms-epochs.json")
        self._lookup: bytes | None = None
        self._lock = threading.Lock()

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

    def _load_epochs(self) -> dict[str, Any]:
        try:
            return cast(dict[str, Any], json.loads(self.epochs_path.read_bytes()))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise KeyringError(f"the epoch file is unreadable ({type(exc).__name__})") from None

    @contextmanager
    def _update(self) -> Iterator[dict[str, Any]]:
        self.epochs_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        lock_path = self.epochs_path.with_name(self.epochs_path.name + ".lock")
        with self._lock:
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                doc = self._load_epochs()
                yield doc
                write_private_file(self.epochs_path, json.dumps(doc, sort_keys=True).encode())
            finally:
                os.close(fd)

    def _epoch_kek_id(self, epoch: str) -> str:
        _check_epoch(epoch)
        entry = self._load_epochs().get(epoch)
        if entry is None:
            with self._update() as doc:
                entry = doc.get(epoch)
                if entry is None:
                    entry = doc[epoch] = {"keks": [self.client.create_key()], "destroyed_at": None}
                    log.info("epoch_kek_created", epoch=epoch)
        if entry.get("destroyed_at") or not entry["keks"]:
            raise KeyringError(f"the key of epoch {epoch} was destroyed; nothing can join it")
        return str(entry["keks"][-1])

    def wrap(self, data_key: bytes, aad: bytes, epoch: str | None = None) -> WrappedKey:
        kek_id = self._epoch_kek_id(epoch) if epoch else self._active
        return WrappedKey(kek_id, self.client.encrypt(kek_id, data_key, aad))

    def unwrap(self, wrapped: WrappedKey, aad: bytes) -> bytes:
        if not self.has_kek(wrapped.kek_id):
            raise KeyringError(f"key-encryption key {wrapped.kek_id} was destroyed")
        return self.client.decrypt(wrapped.kek_id, wrapped.ciphertext, aad)

    def current_kek_for(self, kek_id: str) -> str:
        for entry in self._load_epochs().values():
            if kek_id in entry["keks"]:
                return str(entry["keks"][-1])
        return self._active

    def epochs(self) -> list[EpochState]:
        return _epoch_states(self._load_epochs())

    def destroy_epoch(self, epoch: str, at: datetime) -> list[str]:
        _check_epoch(epoch)
        with self._update() as doc:
            entry = doc.setdefault(epoch, {"keks": [], "destroyed_at": None})
            if not entry.get("destroyed_at"):
                for kek_id in entry["keks"]:
                    self.client.destroy_key(kek_id)
                entry["destroyed_at"] = at.isoformat()
                log.info("epoch_kek_destroyed", epoch=epoch, keks=len(entry["keks"]))
            return list(entry["keks"])

    def has_kek(self, kek_id: str) -> bool:
        return not any(
            kek_id in entry["keks"] and entry.get("destroyed_at")
            for entry in self._load_epochs().values()
        )

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
        with self._update() as doc:
            for entry in doc.values():
                if not entry.get("destroyed_at"):
                    entry["keks"].append(self.client.create_key())
        return self._active


KmsFactory = Callable[[str], Keyring]
_KMS_FACTORIES: dict[str, KmsFactory] = {}


def register_kms(scheme: str, factory: KmsFactory) -> None:
    """Make `open_keyring` build a KMS-backed keyring for URLs with this scheme."""
    _KMS_FACTORIES[scheme] = factory


def open_keyring(url: str, state_dir: Path | None = None) -> Keyring:
    """`file:///path/keyring.json` (the default), `awskms://KEY-ID?region=…` (its sealed
    look-up key and epoch ids in `state_dir`), or a registered KMS scheme."""
    parsed = urlparse(url)
    if parsed.scheme == "file":
        return LocalKeyring(Path(unquote(parsed.path)))
    if parsed.scheme == "awskms" and "awskms" not in _KMS_FACTORIES:
        from callvault.vault.awskms import open_aws_kms_keyring

        if state_dir is None:
            raise ConfigurationError("an awskms:// keyring needs a directory for its state")
        return open_aws_kms_keyring(url, state_dir)
    factory = _KMS_FACTORIES.get(parsed.scheme)
    if factory is None:
        raise ConfigurationError(
            f"keyring URL scheme {parsed.scheme!r} is not supported; use file:// or register a KMS"
        )
    return factory(url)
