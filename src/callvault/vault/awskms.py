"""The AWS KMS keyring: `CALLVAULT_KEYRING_URL=awskms://KEY-ID?region=eu-north-1`.

KEK material never leaves the KMS: data keys are wrapped with KMS `Encrypt` and unwrapped with
`Decrypt`, bound to their context by the encryption context. KEY-ID (a key id, ARN or
`alias/…`) wraps what belongs to no epoch; each key epoch gets a KMS key of its own
(`CreateKey`), and retiring an epoch schedules that key for deletion with the shortest waiting
period AWS allows (7 days), after which it is gone for good. Credentials come from boto3's
usual chain (environment, profile, instance role); `endpoint_url=` in the URL points at
another endpoint (a VPC endpoint, or moto's server in the tests).
"""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

from callvault.errors import ConfigurationError, IntegrityError, KeyringError
from callvault.vault.keyring import KmsKeyring

PENDING_WINDOW_DAYS = 7  # the shortest waiting period AWS KMS allows
_CONTEXT_KEY = "callvault"


@contextmanager
def _translated(what: str) -> Iterator[None]:
    """botocore's errors become ours at the seam."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", ""))
        if code == "InvalidCiphertextException":
            raise IntegrityError("a wrapped data key failed authentication (KMS)") from None
        if code in ("KMSInvalidStateException", "NotFoundException", "DisabledException"):
            raise KeyringError(f"the KMS key cannot {what}: it is destroyed or disabled") from None
        raise KeyringError(f"the KMS could not {what} ({code or 'error'})") from None
    except BotoCoreError as exc:
        raise KeyringError(f"the KMS could not {what} ({type(exc).__name__})") from None


def _context(aad: bytes) -> dict[str, str]:
    return {_CONTEXT_KEY: base64.b64encode(aad).decode("ascii")}


class AwsKmsClient:
    """The KmsClient seam over boto3's KMS client."""

    def __init__(self, client: Any, key_id: str) -> None:
        self.client = client
        self.key_id = key_id

    def encrypt(self, key_id: str, plaintext: bytes, aad: bytes) -> bytes:
        with _translated("encrypt"):
            answer = self.client.encrypt(
                KeyId=key_id, Plaintext=plaintext, EncryptionContext=_context(aad)
            )
        return bytes(answer["CiphertextBlob"])

    def decrypt(self, key_id: str, ciphertext: bytes, aad: bytes) -> bytes:
        with _translated("decrypt"):
            answer = self.client.decrypt(
                KeyId=key_id, CiphertextBlob=ciphertext, EncryptionContext=_context(aad)
            )
        return bytes(answer["Plaintext"])

    def create_key(self) -> str:
        with _translated("create a key"):
            answer = self.client.create_key(
                Description="callvault key epoch (destroyed when its recordings are deleted)",
                KeyUsage="ENCRYPT_DECRYPT",
                KeySpec="SYMMETRIC_DEFAULT",
                Tags=[{"TagKey": "callvault", "TagValue": "key-epoch"}],
            )
        return str(answer["KeyMetadata"]["KeyId"])

    def destroy_key(self, key_id: str) -> None:
        with _translated("schedule a key's deletion"):
            try:
                self.client.schedule_key_deletion(
                    KeyId=key_id, PendingWindowInDays=PENDING_WINDOW_DAYS
                )
            except self.client.exceptions.KMSInvalidStateException:
                state = self.client.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"]
                if state not in ("PendingDeletion", "PendingReplicaDeletion"):
                    raise
        # A key pending deletion cannot be used at all: nothing decrypts with it from now on.

    def ping(self) -> None:
        with _translated("be reached"):
            self.client.describe_key(KeyId=self.key_id)


def open_aws_kms_keyring(url: str, state_dir: Path) -> KmsKeyring:
    """`awskms://KEY-ID?region=…[&endpoint_url=…]`; the sealed look-up key and the epochs'
    key ids are kept in `state_dir` (ids and sealed bytes only)."""
    import boto3
    from botocore.config import Config

    parsed = urlparse(url)
    key_id = unquote(parsed.netloc + parsed.path)
    if not key_id:
        raise ConfigurationError("an awskms:// keyring URL needs a key: awskms://KEY-ID?region=…")
    options = {k: v[-1] for k, v in parse_qs(parsed.query).items()}
    region = options.get("region") or os.environ.get("AWS_REGION")
    if not region:
        raise ConfigurationError("an awskms:// keyring URL needs ?region=…")
    client = boto3.client(
        "kms",
        region_name=region,
        endpoint_url=options.get("endpoint_url") or os.environ.get("AWS_ENDPOINT_URL_KMS"),
        config=Config(retries={"max_attempts": 5, "mode": "standard"}),
    )
    return KmsKeyring(AwsKmsClient(client, key_id), key_id, state_dir / "kms-lookup.json")
