"""The AWS KMS keyring against moto's server on loopback: KEKs never leave the KMS, epoch keys
are scheduled for deletion with the shortest waiting period, and then nothing unwraps."""

from __future__ import annotations

import json
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import pytest
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from callvault.clock import FixedClock
from callvault.config import Settings
from callvault.db import make_sessionmaker
from callvault.errors import IntegrityError, KeyringError
from callvault.policy.models import PolicyVersion
from callvault.retention.service import delete_expired_recordings
from callvault.runtime import Runtime, set_runtime
from callvault.vault.awskms import PENDING_WINDOW_DAYS
from callvault.vault.keyring import KmsKeyring, open_keyring
from callvault.vault.service import open_artifact
from tests.retention.factory import RecordingFactory


@pytest.fixture
def kms_key(s3_endpoint: str) -> tuple[str, str]:
    """A fresh KMS key in moto's server (its S3 fixture serves KMS as well)."""
    client = boto3.client("kms", endpoint_url=s3_endpoint, region_name="eu-north-1")
    key_id = client.create_key(Description="callvault test")["KeyMetadata"]["KeyId"]
    return f"awskms://{key_id}?region=eu-north-1&endpoint_url={s3_endpoint}", s3_endpoint


@pytest.fixture
def kms_keyring(kms_key: tuple[str, str], tmp_path: Path) -> KmsKeyring:
    keyring = open_keyring(kms_key[0], state_dir=tmp_path / "keys")
    assert isinstance(keyring, KmsKeyring)
    keyring.ensure()
    return keyring


def _kms(endpoint: str):  # type: ignore[no-untyped-def]
    return boto3.client("kms", endpoint_url=endpoint, region_name="eu-north-1")


def test_wrapping_goes_through_the_kms_and_no_kek_is_stored(
    kms_keyring: KmsKeyring, tmp_path: Path
) -> None:
    kms_keyring.check()
    key = secrets.token_bytes(32)
    wrapped = kms_keyring.wrap(key, b"artifact-1")
    assert kms_keyring.unwrap(wrapped, b"artifact-1") == key
    with pytest.raises(IntegrityError):
        kms_keyring.unwrap(wrapped, b"artifact-2")  # the encryption context binds it
    epoch_wrapped = kms_keyring.wrap(key, b"artifact-3", "2026-W10")
    assert epoch_wrapped.kek_id != wrapped.kek_id
    stored = {p.name: p.read_text() for p in (tmp_path / "keys").iterdir() if p.is_file()}
    assert set(stored) >= {"kms-lookup.json", "kms-epochs.json"}
    epochs = json.loads(stored["kms-epochs.json"])
    assert epochs == {"2026-W10": {"keks": [epoch_wrapped.kek_id], "destroyed_at": None}}
    assert set(json.loads(stored["kms-lookup.json"])) == {"key_id", "sealed"}


def test_destroying_an_epoch_schedules_its_kms_key_for_deletion_in_7_days(
    kms_keyring: KmsKeyring, kms_key: tuple[str, str]
) -> None:
    wrapped = kms_keyring.wrap(b"k" * 32, b"artifact-1", "2026-W10")
    at = datetime(2026, 3, 9, tzinfo=UTC)
    assert kms_keyring.destroy_epoch("2026-W10", at) == [wrapped.kek_id]
    assert kms_keyring.destroy_epoch("2026-W10", at) == [wrapped.kek_id]  # idempotent
    meta = _kms(kms_key[1]).describe_key(KeyId=wrapped.kek_id)["KeyMetadata"]
    assert meta["KeyState"] == "PendingDeletion"
    wait = meta["DeletionDate"] - datetime.now(meta["DeletionDate"].tzinfo)
    assert timedelta(days=PENDING_WINDOW_DAYS - 1) < wait <= timedelta(days=PENDING_WINDOW_DAYS)
    assert PENDING_WINDOW_DAYS == 7
    with pytest.raises(KeyringError):
        kms_keyring.unwrap(wrapped, b"artifact-1")
    # AWS refuses every operation with a key pending deletion; moto does not emulate that, so
    # the state above is what is checked here.
    with pytest.raises(KeyringError):
        kms_keyring.wrap(b"k" * 32, b"artifact-2", "2026-W10")


def test_an_unreachable_kms_fails_the_check(tmp_path: Path) -> None:
    keyring = open_keyring(
        f"awskms://{uuid.uuid4()}?region=eu-north-1&endpoint_url=http://127.0.0.1:9",
        state_dir=tmp_path,
    )
    with pytest.raises(KeyringError):
        keyring.check()


def test_the_sweep_retires_an_epoch_in_the_kms(
    kms_key: tuple[str, str],
    engine: Engine,
    connection,  # type: ignore[no-untyped-def]
    settings: Settings,
    clock: FixedClock,
    session: Session,
    policy_version: PolicyVersion,
) -> None:
    kms_settings = Settings(**{**settings.model_dump(), "keyring_url": kms_key[0]})
    runtime = Runtime(
        kms_settings,
        engine,
        make_sessionmaker(connection, join_transaction_mode="create_savepoint"),
        clock,
    )
    set_runtime(runtime)
    runtime.keyring.ensure()
    with runtime.sessions() as own:
        recording = RecordingFactory(own, runtime, policy_version)(
            expires_at=clock.now() + timedelta(days=2)
        )
        own.commit()
        assert open_artifact(own, runtime, recording.id, "original").read()
    clock.advance(days=10)
    delete_expired_recordings(runtime)
    (state,) = runtime.keyring.epochs()
    assert not state.live
    meta = _kms(kms_key[1]).describe_key(KeyId=state.kek_ids[0])["KeyMetadata"]
    assert meta["KeyState"] == "PendingDeletion"
