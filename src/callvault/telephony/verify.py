"""Before the provider's copy may go: the vault holds the recording the provider had."""

from __future__ import annotations

import hashlib
import os
import tempfile
import uuid
from pathlib import Path

from sqlalchemy.orm import Session

from callvault.errors import IntegrityError
from callvault.runtime import Runtime
from callvault.telephony.provider import FetchedMedia

#: The provider reports whole seconds.
DURATION_TOLERANCE_S = 1.5


def check_duration(expected: float | None, duration_s: float) -> None:
    """The recording is as long as the provider said."""
    if expected is not None and abs(duration_s - expected) > DURATION_TOLERANCE_S:
        raise IntegrityError("the recording's duration differs from the provider's")


def check_stored_audio(
    session: Session, runtime: Runtime, recording_id: uuid.UUID, media: FetchedMedia
) -> None:
    """Decrypt what the vault stored and compare it with the download, before the provider's
    copy may go: byte for byte if the original format was kept, else sample for sample (the
    vault stores lossless FLAC)."""
    from callvault.vault.service import open_artifact

    stored = open_artifact(session, runtime, recording_id, "original")
    fd, name = tempfile.mkstemp(prefix="stored-", dir=media.path.parent)
    path = Path(name)
    try:
        digest = hashlib.sha256()
        with os.fdopen(fd, "wb") as out:
            for chunk in stored.iter():
                out.write(chunk)
                digest.update(chunk)
        if digest.hexdigest() == media.sha256:
            return
        if pcm_sha256(path) != pcm_sha256(media.path):
            raise IntegrityError("the stored audio differs from the provider's recording")
    finally:
        path.unlink(missing_ok=True)


def pcm_sha256(path: Path) -> str:
    """SHA-256 of the 16-bit samples and the channel count, read in blocks."""
    import soundfile as sf

    digest = hashlib.sha256()
    try:
        with sf.SoundFile(path) as audio:
            digest.update(f"{audio.channels}:{audio.samplerate}|".encode())
            for block in audio.blocks(blocksize=65536, dtype="int16", always_2d=True):
                digest.update(block.tobytes())
    except (sf.LibsndfileError, RuntimeError) as exc:
        raise IntegrityError(
            f"audio could not be decoded for the check ({type(exc).__name__})"
        ) from None
    return digest.hexdigest()
