"""The vault: every artifact encrypted with its own data key, readable by range, shreddable."""

from __future__ import annotations

import io
import secrets
import uuid
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
import structlog
from sqlalchemy import event
from sqlalchemy.orm import Session

from callvault.errors import CallvaultError, IntegrityError, KeyringError, NotFound
from callvault.runtime import Runtime
from callvault.vault import envelope
from callvault.vault.epochs import epoch_of
from callvault.vault.keyring import Keyring, WrappedKey
from callvault.vault.models import Artifact
from callvault.vault.storage import BlobStore, new_blob_name

log = structlog.get_logger(__name__)

_PENDING = "vault_pending_blobs"  # written in this transaction: deleted if it rolls back
_REPLACED = "vault_replaced_blobs"  # superseded in this transaction: deleted once it commits


def _context(owner_id: uuid.UUID, kind: str, artifact_id: uuid.UUID) -> bytes:
    return f"callvault/artifact/v1|{owner_id}|{kind}|{artifact_id}".encode()


def _key_aad(artifact_id: uuid.UUID) -> bytes:
    return f"callvault/data-key/v1|{artifact_id}".encode()


def store_artifact(
    session: Session,
    runtime: Runtime,
    owner_id: uuid.UUID,
    kind: str,
    chunks: Iterable[bytes],
    media_type: str,
    *,
    expires_at: datetime | None = None,
) -> Artifact:
    """Encrypt `chunks` under a fresh 256-bit data key, store the blob, then add the row.

    The data key is wrapped by the KEK of the owner's key epoch: the deletion week of
    `expires_at` when given (a new recording), else the epoch of the owner's other artifacts
    (a transcript joins its recording's epoch), else the active KEK (a DSAR bundle).

    The blob is written (and made durable) before the row exists, so a crash leaves at worst an
    orphan blob, which fsck removes; never a row without its blob. An earlier artifact of the
    same kind is replaced: its row goes now, its blob once the transaction commits.
    """
    artifact_id = uuid.uuid4()
    data_key = secrets.token_bytes(32)
    blob_name = new_blob_name()
    counter = [0]
    sealed = envelope.encrypt_stream(
        data_key,
        chunks,
        _context(owner_id, kind, artifact_id),
        nonce_prefix=secrets.token_bytes(7),
        counter=counter,
    )
    epoch = (
        epoch_of(expires_at) if expires_at is not None else owner_epoch(session, runtime, owner_id)
    )
    wrapped = runtime.keyring.wrap(data_key, _key_aad(artifact_id), epoch)
    _track(session, runtime.blobs)
    session.info.setdefault(_PENDING, set()).add(blob_name)
    try:
        sealed_size = runtime.blobs.put(blob_name, sealed)
    except BaseException:
        session.info[_PENDING].discard(blob_name)
        raise
    old = session.scalar(
        sa.select(Artifact).where(Artifact.owner_id == owner_id, Artifact.kind == kind)
    )
    if old is not None:
        session.info.setdefault(_REPLACED, set()).add(old.blob_name)
        session.delete(old)
        session.flush()
    artifact = Artifact(
        id=artifact_id,
        owner_id=owner_id,
        kind=kind,
        media_type=media_type,
        blob_name=blob_name,
        plain_size=counter[0],
        sealed_size=sealed_size,
        segment_size=envelope.SEGMENT_SIZE,
        kek_id=wrapped.kek_id,
        wrapped_key=wrapped.ciphertext,
        created_at=runtime.clock.now(),
    )
    session.add(artifact)
    session.flush()
    log.info("artifact_stored", owner_id=str(owner_id), kind=kind, artifact_id=str(artifact_id))
    return artifact


def owner_epoch(session: Session, runtime: Runtime, owner_id: uuid.UUID) -> str | None:
    """The key epoch the owner's artifacts are wrapped in, if any."""
    kek_id = session.scalar(
        sa.select(Artifact.kek_id).where(Artifact.owner_id == owner_id).limit(1)
    )
    if kek_id is None:
        return None
    for state in runtime.keyring.epochs():
        if kek_id in state.kek_ids:
            return state.epoch
    return None


def _track(session: Session, blobs: BlobStore) -> None:
    """Once per session: delete replaced blobs after commit, and new blobs after a rollback."""
    if session.info.get("vault_tracked"):
        return
    session.info["vault_tracked"] = True

    @event.listens_for(session, "after_commit")
    def _committed(sess: Session) -> None:
        sess.info.pop(_PENDING, None)
        replaced = sess.info.pop(_REPLACED, set())
        delete_blobs_from(blobs, replaced)

    @event.listens_for(session, "after_rollback")
    def _rolled_back(sess: Session) -> None:
        sess.info.pop(_REPLACED, None)
        delete_blobs_from(blobs, sess.info.pop(_PENDING, set()))


def forget_pending(session: Session, names: Iterable[str]) -> None:
    """The caller deleted these blobs itself (a refusal inside a savepoint)."""
    pending = session.info.get(_PENDING, set())
    for name in names:
        pending.discard(name)


@dataclass
class ArtifactReader:
    """Decrypts one artifact, whole or by byte range (HTTP Range), segment by segment."""

    artifact_id: uuid.UUID
    owner_id: uuid.UUID
    kind: str
    media_type: str
    size: int
    blob_name: str
    _key: bytes
    _blobs: BlobStore
    _segment_size: int

    def iter(self, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        """Plaintext bytes [start, end); every segment touched is authenticated first."""
        end = self.size if end is None else min(end, self.size)
        start = max(0, start)
        seg = self._segment_size
        final_index = envelope.segment_count(self.size, seg) - 1
        context = _context(self.owner_id, self.kind, self.artifact_id)
        header = self._header()
        if start >= end:
            if self.size == 0:
                # Still authenticate the single, empty, final segment.
                for _ in self._decrypt(header, context, 0, 0, final_index):
                    pass
            return
        first, last = start // seg, (end - 1) // seg
        skip = start - first * seg
        remaining = end - start
        for plain in self._decrypt(header, context, first, last, final_index):
            piece = plain[skip : skip + remaining]
            skip = 0
            remaining -= len(piece)
            if piece:
                yield piece

    def read(self) -> bytes:
        return b"".join(self.iter())

    def open(self, buffer_size: int = 1024 * 1024) -> io.BufferedReader:
        """A seekable, read-only file of the plaintext (for decoders), decrypted a buffer at a
        time as it is read: nothing is written anywhere and the whole is never in memory."""
        return io.BufferedReader(_ArtifactFile(self), buffer_size=buffer_size)

    def _header(self) -> envelope.Header:
        data = b"".join(self._blobs.get_range(self.blob_name, 0, envelope.HEADER_SIZE))
        header = envelope.Header.unpack(data)
        if header.segment_size != self._segment_size:
            raise IntegrityError("encrypted blob header does not match its record")
        return header

    def _decrypt(
        self, header: envelope.Header, context: bytes, first: int, last: int, final_index: int
    ) -> Iterator[bytes]:
        step = header.segment_size + envelope.TAG
        begin = envelope.HEADER_SIZE + first * step
        stop = -1 if last == final_index else envelope.HEADER_SIZE + (last + 1) * step
        sealed = self._blobs.get_range(self.blob_name, begin, stop)
        return envelope.decrypt_segments(
            self._key, header, context, sealed, first=first, last=last, final_index=final_index
        )


class _ArtifactFile(io.RawIOBase):
    def __init__(self, reader: ArtifactReader) -> None:
        self._reader = reader
        self._position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._reader.size}
        self._position = max(0, base[whence] + offset)
        return self._position

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        filled = 0
        for piece in self._reader.iter(self._position, self._position + len(view)):
            view[filled : filled + len(piece)] = piece
            filled += len(piece)
        self._position += filled
        return filled


def open_artifact(
    session: Session, runtime: Runtime, owner_id: uuid.UUID, kind: str
) -> ArtifactReader:
    """A reader for the owner's artifact; NotFound if absent or shredded."""
    artifact = session.scalar(
        sa.select(Artifact).where(Artifact.owner_id == owner_id, Artifact.kind == kind)
    )
    if artifact is None:
        raise NotFound("no such artifact")
    return reader_for(runtime, artifact)


def reader_for(runtime: Runtime, artifact: Artifact) -> ArtifactReader:
    key = unwrap_data_key(runtime.keyring, artifact)
    return ArtifactReader(
        artifact_id=artifact.id,
        owner_id=artifact.owner_id,
        kind=artifact.kind,
        media_type=artifact.media_type,
        size=artifact.plain_size,
        blob_name=artifact.blob_name,
        _key=key,
        _blobs=runtime.blobs,
        _segment_size=artifact.segment_size,
    )


def unwrap_data_key(keyring: Keyring, artifact: Artifact) -> bytes:
    return keyring.unwrap(WrappedKey(artifact.kek_id, artifact.wrapped_key), _key_aad(artifact.id))


def has_artifact(session: Session, owner_id: uuid.UUID, kind: str) -> bool:
    return (
        session.scalar(
            sa.select(Artifact.id).where(Artifact.owner_id == owner_id, Artifact.kind == kind)
        )
        is not None
    )


def artifact_kinds(session: Session, owner_id: uuid.UUID) -> list[str]:
    return sorted(
        session.scalars(sa.select(Artifact.kind).where(Artifact.owner_id == owner_id)).all()
    )


def move_to_epoch(
    session: Session, runtime: Runtime, owner_id: uuid.UUID, expires_at: datetime
) -> int:
    """Re-wrap the owner's data keys under the key epoch of `expires_at` (something kept longer
    than what it was made from, such as an approved training clip); the audio is not touched.
    Returns how many keys moved."""
    epoch = epoch_of(expires_at)
    artifacts = session.scalars(sa.select(Artifact).where(Artifact.owner_id == owner_id)).all()
    for artifact in artifacts:
        key = unwrap_data_key(runtime.keyring, artifact)
        wrapped = runtime.keyring.wrap(key, _key_aad(artifact.id), epoch)
        artifact.kek_id, artifact.wrapped_key = wrapped.kek_id, wrapped.ciphertext
    session.flush()
    return len(artifacts)


def shred_owner_keys(session: Session, owner_id: uuid.UUID) -> list[str]:
    """Destroy the owner's wrapped data keys in the caller's transaction; returns blob names.

    Once this commits nothing of the owner can be decrypted, whether or not the blobs are
    deleted yet (call `delete_blobs` after the commit; fsck removes any that are left).
    """
    artifacts = session.scalars(sa.select(Artifact).where(Artifact.owner_id == owner_id)).all()
    names = [a.blob_name for a in artifacts]
    for artifact in artifacts:
        session.delete(artifact)
    session.flush()
    log.info("owner_keys_shredded", owner_id=str(owner_id), artifacts=len(names))
    return names


def shred_keys_of(session: Session, owner_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, list[str]]:
    """`shred_owner_keys` for many owners in one statement; returns each owner's blob names."""
    names: dict[uuid.UUID, list[str]] = {owner: [] for owner in owner_ids}
    if not names:
        return names
    session.flush()
    gone = session.execute(
        sa.delete(Artifact)
        .where(Artifact.owner_id.in_(list(names)))
        .returning(Artifact.owner_id, Artifact.blob_name)
        .execution_options(synchronize_session=False)
    ).all()
    for owner_id, blob_name in gone:
        names[owner_id].append(blob_name)
    log.info("owner_keys_shredded", owners=len(names), artifacts=len(gone))
    return names


def delete_blobs(runtime: Runtime, names: Iterable[str]) -> int:
    """Delete blobs (idempotent); returns how many were asked for."""
    return delete_blobs_from(runtime.blobs, names, strict=True)


def delete_blobs_from(blobs: BlobStore, names: Iterable[str], *, strict: bool = False) -> int:
    count = 0
    for name in list(names):
        try:
            blobs.delete(name)
        except CallvaultError:
            if strict:
                raise
            log.warning("blob_delete_failed", blob=name)
        count += 1
    return count


def rewrap_all(session: Session, keyring: Keyring, *, batch: int = 500) -> int:
    """Re-wrap every data key not under its current KEK (the active one, or its epoch's
    newest); the audio is not touched. Keys stay in their epoch."""
    current = {keyring.active_kek_id()} | {s.kek_ids[-1] for s in keyring.epochs() if s.live}
    epoch_by_kek = {k: s.epoch for s in keyring.epochs() if s.live for k in s.kek_ids}
    done = 0
    while True:
        artifacts = session.scalars(
            sa.select(Artifact).where(Artifact.kek_id.not_in(current)).limit(batch)
        ).all()
        if not artifacts:
            return done
        for artifact in artifacts:
            target = keyring.current_kek_for(artifact.kek_id)
            key = unwrap_data_key(keyring, artifact)
            wrapped = keyring.wrap(key, _key_aad(artifact.id), epoch_by_kek.get(artifact.kek_id))
            if wrapped.kek_id != target:
                raise KeyringError("the keyring changed its active key during rotation")
            artifact.kek_id, artifact.wrapped_key = wrapped.kek_id, wrapped.ciphertext
        session.flush()
        done += len(artifacts)
