"""`keys rotate`: a new KEK wraps every data key; the encrypted audio is not rewritten."""

from __future__ import annotations

import hashlib
import uuid

import sqlalchemy as sa
from sqlalchemy.orm import Session

from callvault.runtime import Runtime
from callvault.vault.models import Artifact
from callvault.vault.rotation import rotate_keys
from callvault.vault.service import open_artifact, store_artifact


def _blob_digest(rt: Runtime, name: str) -> str:
    return hashlib.sha256(b"".join(rt.blobs.get(name))).hexdigest()


def test_rotation_rewraps_every_data_key_without_touching_blobs(
    session: Session, vault_runtime: Runtime
) -> None:
    stored = {}
    for i in range(5):
        owner = uuid.uuid4()
        data = f"recording {i}".encode() * 100
        artifact = store_artifact(session, vault_runtime, owner, "original", [data], "audio/flac")
        stored[owner] = (data, artifact.blob_name, _blob_digest(vault_runtime, artifact.blob_name))
    session.commit()
    old_kek = vault_runtime.keyring.active_kek_id()

    report = rotate_keys(vault_runtime, batch=2)

    assert report.kek_id != old_kek
    assert report.data_keys == 5
    session.expire_all()
    assert set(session.scalars(sa.select(Artifact.kek_id)).all()) == {report.kek_id}
    for owner, (data, name, digest) in stored.items():
        assert _blob_digest(vault_runtime, name) == digest
        assert open_artifact(session, vault_runtime, owner, "original").read() == data


def test_rotating_again_finds_nothing_left_under_old_keys(
    session: Session, vault_runtime: Runtime
) -> None:
    store_artifact(session, vault_runtime, uuid.uuid4(), "original", [b"x"], "audio/flac")
    session.commit()
    assert rotate_keys(vault_runtime).data_keys == 1
    from callvault.vault.rotation import rewrap_everything

    assert rewrap_everything(vault_runtime)[0] == 0
