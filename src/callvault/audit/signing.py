"""The checkpoint signing key: Ed25519, kept in a file outside the database (mode 0600)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from callvault.config import write_private_file
from callvault.errors import ConfigurationError, KeyringError


@dataclass(frozen=True)
class CheckpointVerifier:
    """A public key that checks checkpoint signatures; `key_id` names it in each checkpoint."""

    public_key: Ed25519PublicKey

    @property
    def key_id(self) -> str:
        raw = self.public_key.public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        return hashlib.sha256(raw).hexdigest()[:32]

    def verify(self, message: bytes, signature_hex: str) -> bool:
        try:
            self.public_key.verify(bytes.fromhex(signature_hex), message)
        except (InvalidSignature, ValueError):
            return False
        return True

    def public_pem(self) -> bytes:
        return self.public_key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )


@dataclass(frozen=True)
class CheckpointSigner:
    """The private key that signs checkpoints."""

    private_key: Ed25519PrivateKey

    @property
    def verifier(self) -> CheckpointVerifier:
        return CheckpointVerifier(self.private_key.public_key())

    @property
    def key_id(self) -> str:
        return self.verifier.key_id

    def sign(self, message: bytes) -> str:
        return self.private_key.sign(message).hex()


def ensure_signing_key(path: Path) -> bool:
    """Create the signing key file (mode 0600) and its public half if missing; True if created."""
    if path.exists():
        load_signer(path)
        return False
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    write_private_file(path, pem)
    public_path(path).write_bytes(CheckpointSigner(key).verifier.public_pem())
    return True


def public_path(path: Path) -> Path:
    return path.with_name(path.name.removesuffix(".pem") + ".pub.pem")


def load_signer(path: Path) -> CheckpointSigner:
    """The signer from the key file; refuses a missing, unreadable or group/world-readable file."""
    try:
        mode = path.stat().st_mode & 0o777
        data = path.read_bytes()
    except FileNotFoundError:
        raise KeyringError(
            "the audit signing key is missing; run `callvault init` or set "
            "CALLVAULT_AUDIT_SIGNING_KEY"
        ) from None
    except OSError as exc:
        raise KeyringError("the audit signing key cannot be read") from exc
    if mode & 0o077:
        raise ConfigurationError(
            f"the audit signing key must be readable by its owner only (mode 0600, is {mode:o})"
        )
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except ValueError as exc:
        raise KeyringError("the audit signing key file is not a PEM private key") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyringError("the audit signing key is not an Ed25519 key")
    return CheckpointSigner(key)


def load_verifier(path: Path) -> CheckpointVerifier:
    """The verifier from the private key file, or from its public half (`*.pub.pem`) when only
    that is at hand: an auditor can verify without being able to sign."""
    if path.name.endswith(".pub.pem"):
        public = path
    elif path.exists():
        return load_signer(path).verifier
    else:
        public = public_path(path)
    try:
        key = serialization.load_pem_public_key(public.read_bytes())
    except (OSError, ValueError) as exc:
        raise KeyringError(
            "no audit signing key or public key found to verify checkpoints"
        ) from exc
    if not isinstance(key, Ed25519PublicKey):
        raise KeyringError("the audit public key is not an Ed25519 key")
    return CheckpointVerifier(key)
