"""Sealed database fields (envelope-encrypted small values) and keyed look-up hashes."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import struct
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy.orm import InstrumentedAttribute

from callvault.errors import IntegrityError
from callvault.vault.keyring import Keyring, WrappedKey

_VERSION = 1
_NONCE = 12


def _aad(context: str) -> bytes:
    return f"callvault/field/v1|{context}".encode()


def seal(keyring: Keyring, text: str, context: str, epoch: str | None = None) -> bytes:
    """Encrypt `text` under a fresh data key wrapped by the keyring (by the key epoch's KEK
    when given, as for a recording's caller number); bound to `context`."""
    key = secrets.token_bytes(32)
    nonce = secrets.token_bytes(_NONCE)
    body = AESGCM(key).encrypt(nonce, text.encode("utf-8"), _aad(context))
    wrapped = keyring.wrap(key, _aad(context), epoch)
    kek = wrapped.kek_id.encode()
    return (
        struct.pack(">BHH", _VERSION, len(kek), len(wrapped.ciphertext))
        + kek
        + wrapped.ciphertext
        + nonce
        + body
    )


def sealed_kek_id(sealed: bytes) -> str:
    version, kek_len, _ = _header(sealed)
    return sealed[5 : 5 + kek_len].decode()


def _header(sealed: bytes) -> tuple[int, int, int]:
    if len(sealed) < 5:
        raise IntegrityError("sealed field is truncated")
    version, kek_len, wrapped_len = struct.unpack(">BHH", sealed[:5])
    if version != _VERSION or len(sealed) < 5 + kek_len + wrapped_len + _NONCE + 16:
        raise IntegrityError("sealed field is malformed")
    return version, kek_len, wrapped_len


def unseal(keyring: Keyring, sealed: bytes, context: str) -> str:
    """The text sealed under `context`; IntegrityError if altered or sealed for another context."""
    _, kek_len, wrapped_len = _header(sealed)
    at = 5
    kek_id = sealed[at : at + kek_len].decode()
    at += kek_len
    wrapped = WrappedKey(kek_id, sealed[at : at + wrapped_len])
    at += wrapped_len
    nonce, body = sealed[at : at + _NONCE], sealed[at + _NONCE :]
    key = keyring.unwrap(wrapped, _aad(context))
    try:
        return AESGCM(key).decrypt(nonce, body, _aad(context)).decode("utf-8")
    except InvalidTag:
        raise IntegrityError("a sealed field failed authentication") from None


def reseal(keyring: Keyring, sealed: bytes, context: str) -> bytes:
    """The same text sealed again under its current KEK, in its epoch if it has one (rotation)."""
    kek_id = sealed_kek_id(sealed)
    epoch = next((s.epoch for s in keyring.epochs() if kek_id in s.kek_ids), None)
    return seal(keyring, unseal(keyring, sealed, context), context, epoch)


def phone_lookup_hash(keyring: Keyring, e164: str) -> str:
    """HMAC-SHA256 (hex) of the E.164 number, keyed by the keyring's look-up key."""
    from callvault.phone import normalise_e164

    number = normalise_e164(e164)
    return hmac.new(keyring.lookup_key(), number.encode("ascii"), hashlib.sha256).hexdigest()


def keyed_hash(keyring: Keyring, purpose: str, data: bytes) -> str:
    """A keyed hash for other look-ups (domain-separated by `purpose`)."""
    return hmac.new(
        keyring.lookup_key(), purpose.encode() + b"\x00" + data, hashlib.sha256
    ).hexdigest()


@dataclass(frozen=True)
class SealedColumn:
    attribute: InstrumentedAttribute[bytes | None]
    context: str


SEALED_COLUMNS: list[SealedColumn] = []


def register_sealed_column(attribute: InstrumentedAttribute[bytes | None], context: str) -> None:
    """Let `callvault keys rotate` re-seal this column under the new KEK."""
    if all(c.attribute is not attribute for c in SEALED_COLUMNS):
        SEALED_COLUMNS.append(SealedColumn(attribute, context))
