"""The vault service: per-artifact keys, range reads, replacement, shredding and clean rollback."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from callvault.errors import IntegrityError, NotFound
from callvault.runtime import Runtime
from callvault.vault import envelope
from callvault.vault.models import Artifact
from callvault.vault.service import (
    artifact_kinds,
    delete_blobs,
    has_artifact,
    open_artifact,
    shred_owner_keys,
    store_artifact,
)
from callvault.vault.storage import FileBlobStore, open_blob_store

SEG = envelope.SEGMENT_SIZE


def _store(session: Session, rt: Runtime, data: bytes, kind: str = "original") -> Artifact:
    owner = uuid.uuid4()
    chunks = [data[i : i + 50_000] for i in range(0, len(data), 50_000)]
    return store_artifact(session, rt, owner, kind, chunks, "audio/flac")


def _blob_path(rt: Runtime, name: str) -> Path:
    assert isinstance(rt.blobs, FileBlobStore)
    return rt.blobs.root / name[:2] / name


@pytest.mark.parametrize("size", [0, 1, SEG, 3 * SEG + 17])
def test_stored_artifact_reads_back_exactly(
    session: Session, vault_runtime: Runtime, size: int
) -> None:
    data = os.urandom(size)
    artifact = _store(session, vault_runtime, data)
    reader = open_artifact(session, vault_runtime, artifact.owner_id, "original")
    assert (reader.size, reader.media_type) == (size, "audio/flac")
    assert reader.read() == data


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (0, 1),
        (0, SEG),
        (SEG - 1, SEG + 1),
        (SEG, 2 * SEG),
        (5, 3 * SEG + 17),
        (3 * SEG, None),
        (100, 100),
        (3 * SEG + 16, None),
        (0, 10**9),
    ],
)
def test_range_reads_match_slices_of_the_plaintext(
    session: Session, vault_runtime: Runtime, start: int, end: int | None
) -> None:
    data = os.urandom(3 * SEG + 17)
    artifact = _store(session, vault_runtime, data)
    reader = open_artifact(session, vault_runtime, artifact.owner_id, "original")
    assert b"".join(reader.iter(start, end)) == data[start:end]


def test_each_artifact_gets_its_own_data_key_and_a_random_blob_name(
    session: Session, vault_runtime: Runtime
) -> None:
    data = b"the same audio" * 1000
    a, b = _store(session, vault_runtime, data), _store(session, vault_runtime, data)
    assert a.wrapped_key != b.wrapped_key
    blob_a = _blob_path(vault_runtime, a.blob_name).read_bytes()
    blob_b = _blob_path(vault_runtime, b.blob_name).read_bytes()
    assert blob_a != blob_b
    assert data[:14] not in blob_a
    for artifact in (a, b):
        assert str(artifact.owner_id) not in artifact.blob_name
        assert str(artifact.owner_id).replace("-", "") not in artifact.blob_name


def test_a_tampered_blob_is_an_integrity_error(session: Session, vault_runtime: Runtime) -> None:
    artifact = _store(session, vault_runtime, os.urandom(2 * SEG))
    path = _blob_path(vault_runtime, artifact.blob_name)
    raw = bytearray(path.read_bytes())
    raw[envelope.HEADER_SIZE + SEG + 40] ^= 1
    path.write_bytes(bytes(raw))
    reader = open_artifact(session, vault_runtime, artifact.owner_id, "original")
    assert b"".join(reader.iter(0, 100))  # the first segment is still intact
    with pytest.raises(IntegrityError):
        reader.read()


def test_a_truncated_blob_is_an_integrity_error(session: Session, vault_runtime: Runtime) -> None:
    artifact = _store(session, vault_runtime, os.urandom(2 * SEG + 5))
    path = _blob_path(vault_runtime, artifact.blob_name)
    path.write_bytes(path.read_bytes()[: envelope.HEADER_SIZE + SEG + envelope.TAG])
    with pytest.raises(IntegrityError):
        open_artifact(session, vault_runtime, artifact.owner_id, "original").read()


def test_a_data_key_moved_to_another_artifact_does_not_unwrap(
    session: Session, vault_runtime: Runtime
) -> None:
    a = _store(session, vault_runtime, b"a" * 10)
    b = _store(session, vault_runtime, b"b" * 10)
    b.wrapped_key, b.kek_id = a.wrapped_key, a.kek_id
    session.flush()
    with pytest.raises(IntegrityError):
        open_artifact(session, vault_runtime, b.owner_id, "original")


def test_storing_a_kind_again_replaces_it(session: Session, vault_runtime: Runtime) -> None:
    first = _store(session, vault_runtime, b"first", kind="transcript")
    second = store_artifact(
        session, vault_runtime, first.owner_id, "transcript", [b"second"], "application/json"
    )
    assert open_artifact(session, vault_runtime, first.owner_id, "transcript").read() == b"second"
    assert artifact_kinds(session, first.owner_id) == ["transcript"]
    assert vault_runtime.blobs.exists(second.blob_name)


def test_kinds_and_presence_are_reported_per_owner(
    session: Session, vault_runtime: Runtime
) -> None:
    artifact = _store(session, vault_runtime, b"x")
    store_artifact(
        session, vault_runtime, artifact.owner_id, "metadata", [b"{}"], "application/json"
    )
    assert artifact_kinds(session, artifact.owner_id) == ["metadata", "original"]
    assert has_artifact(session, artifact.owner_id, "metadata")
    assert not has_artifact(session, artifact.owner_id, "transcript")
    with pytest.raises(NotFound):
        open_artifact(session, vault_runtime, artifact.owner_id, "transcript")


def test_shredding_destroys_the_keys_and_then_the_blobs(
    session: Session, vault_runtime: Runtime
) -> None:
    artifact = _store(session, vault_runtime, b"audio")
    owner = artifact.owner_id
    store_artifact(session, vault_runtime, owner, "metadata", [b"{}"], "application/json")
    names = shred_owner_keys(session, owner)
    assert len(names) == 2
    assert session.scalar(sa.select(sa.func.count()).where(Artifact.owner_id == owner)) == 0
    with pytest.raises(NotFound):
        open_artifact(session, vault_runtime, owner, "original")
    assert delete_blobs(vault_runtime, names) == 2
    assert delete_blobs(vault_runtime, names) == 2
    assert not any(vault_runtime.blobs.exists(n) for n in names)


def test_a_rolled_back_transaction_takes_its_new_blobs_with_it(
    session: Session, vault_runtime: Runtime
) -> None:
    with vault_runtime.sessions() as other:
        other.begin()
        artifact = _store(other, vault_runtime, b"never committed")
        name = artifact.blob_name
        assert vault_runtime.blobs.exists(name)
        other.rollback()
    assert not vault_runtime.blobs.exists(name)


def test_artifacts_round_trip_and_fail_tampering_on_s3(
    session: Session, vault_runtime: Runtime, s3_url: str
) -> None:
    store = open_blob_store(s3_url)
    vault_runtime.__dict__["blobs"] = store
    data = os.urandom(3 * SEG + 17)
    artifact = _store(session, vault_runtime, data)
    reader = open_artifact(session, vault_runtime, artifact.owner_id, "original")
    assert reader.read() == data
    assert b"".join(reader.iter(SEG - 1, 2 * SEG + 5)) == data[SEG - 1 : 2 * SEG + 5]
    raw = bytearray(b"".join(store.get(artifact.blob_name)))
    raw[-1] ^= 1
    store.put(artifact.blob_name, [bytes(raw)])
    with pytest.raises(IntegrityError):
        reader.read()
