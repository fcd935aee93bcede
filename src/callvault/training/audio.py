"""Rendering a clip's audio: seek into the encrypted pseudonymised variant, cut, mask, encode.

The variant is a FLAC file stored with the vault's segmented encryption. `SealedFile` gives
libsndfile a seekable file over it that decrypts (and authenticates) only the segments it
touches, so a two-minute clip of an hour-long call never decrypts the whole call.
"""

from __future__ import annotations

import io
from collections import OrderedDict
from collections.abc import Sequence

import numpy as np
import soundfile as sf

from callvault.errors import InvalidAudio
from callvault.redaction.audio import Audio, encode_audio
from callvault.redaction.masking import mask_audio
from callvault.vault.service import ArtifactReader

CACHED_SEGMENTS = 8


class SealedFile(io.RawIOBase):
    """A read-only, seekable file over an artifact, decrypting segment by segment on demand."""

    def __init__(self, reader: ArtifactReader, segment_size: int) -> None:
        self._reader = reader
        self._seg = segment_size
        self._pos = 0
        self._cache: OrderedDict[int, bytes] = OrderedDict()
        self.segments_read = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._reader.size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def _segment(self, index: int) -> bytes:
        found = self._cache.get(index)
        if found is not None:
            self._cache.move_to_end(index)
            return found
        start = index * self._seg
        data = b"".join(self._reader.iter(start, start + self._seg))
        self.segments_read += 1
        self._cache[index] = data
        if len(self._cache) > CACHED_SEGMENTS:
            self._cache.popitem(last=False)
        return data

    def readinto(self, buffer: memoryview | bytearray) -> int:  # type: ignore[override]
        view = memoryview(buffer).cast("B")
        wanted = min(len(view), max(0, self._reader.size - self._pos))
        done = 0
        while done < wanted:
            index, offset = divmod(self._pos, self._seg)
            segment = self._segment(index)
            piece = segment[offset : offset + wanted - done]
            if not piece:
                break
            view[done : done + len(piece)] = piece
            done += len(piece)
            self._pos += len(piece)
        return done


def read_range(
    reader: ArtifactReader, segment_size: int, start_s: float, end_s: float
) -> tuple[Audio, int]:
    """The audio between two times of an encrypted audio artifact, and how many segments were
    decrypted to get it."""
    sealed = SealedFile(reader, segment_size)
    try:
        with sf.SoundFile(io.BufferedReader(sealed, buffer_size=16384)) as audio:
            rate = int(audio.samplerate)
            first = int(round(start_s * rate))
            frames = int(round(end_s * rate)) - first
            if first >= audio.frames or frames <= 0:
                raise InvalidAudio("the range lies outside the audio")
            audio.seek(first)
            samples = audio.read(frames, dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError) as exc:
        raise InvalidAudio("the pseudonymised audio could not be read") from exc
    return Audio(np.ascontiguousarray(samples), rate), sealed.segments_read


def masked_clip(audio: Audio, marks: Sequence[tuple[float, float]], operator: str) -> Audio:
    """The clip with every mark (clip-relative seconds) masked in every channel."""
    intervals = [(ch, start, end) for start, end in marks for ch in range(audio.channels)]
    return mask_audio(audio, intervals, operator) if intervals else audio


def encode_clip(audio: Audio) -> bytes:
    return encode_audio(audio, "FLAC")
