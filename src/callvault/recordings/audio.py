"""Validating and normalising uploaded audio, streamed: WAV, FLAC, Ogg/Opus and MP3 in, FLAC out.

Decoding is a pure step apart from the vault: it reads an upload block by block, refuses what is
corrupt, truncated, empty, too long or not audio, and writes the lossless FLAC that is kept.
"""

from __future__ import annotations

import hashlib
import os
import struct
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import soundfile as sf
import structlog

from callvault.errors import InvalidAudio, TooLarge, UnsupportedSampleRate

log = structlog.get_logger(__name__)

READ_CHUNK = 1024 * 1024
BLOCK_FRAMES = 32768
FLAC_COMPRESSION = 0.25  # libsndfile's 0..1 scale; low levels are much faster and nearly as small

# soundfile major format -> (our name, the media type of the original bytes)
FORMATS: dict[str, tuple[str, str]] = {
    "WAV": ("wav", "audio/wav"),
    "WAVEX": ("wav", "audio/wav"),
    "RF64": ("wav", "audio/wav"),
    "FLAC": ("flac", "audio/flac"),
    "OGG": ("ogg", "audio/ogg"),
    "MP3": ("mp3", "audio/mpeg"),
}
OGG_CODECS = frozenset({"OPUS", "VORBIS"})
HIGH_RESOLUTION = frozenset({"PCM_24", "PCM_32", "FLOAT", "DOUBLE"})
# Calls are 8-48 kHz. A higher rate holds nothing more of a voice and multiplies the work of
# every later step (a 3-minute FLAC of silence at 655,350 Hz is 516 KB), so it is refused.
MAX_SAMPLE_RATE = 48000


@dataclass(frozen=True)
class AudioLimits:
    max_bytes: int
    max_duration_s: float


@dataclass(frozen=True)
class Upload:
    """The upload's bytes on a seekable file, with their SHA-256 and size."""

    file: BinaryIO
    sha256: str
    size: int


@dataclass(frozen=True)
class DecodedAudio:
    """What decoding found, and where the FLAC to keep is (the original, or a new file)."""

    source_format: str
    source_media_type: str
    sample_rate: int
    channels: int
    frames: int
    # The FLAC to keep, in an anonymous temporary file (the kernel frees it even if the
    # process is killed); None when the original is already FLAC or is kept as sent.
    flac_file: BinaryIO | None

    @property
    def duration_s(self) -> float:
        return self.frames / self.sample_rate


def measure_upload(source: BinaryIO, limits: AudioLimits, spool_dir: Path) -> Upload:
    """Hash and count the upload in chunks, refusing it once it passes the size limit.

    A seekable source is rewound and used in place; anything else is spooled to a private
    temporary file, so the upload never has to fit in memory.
    """
    seekable = _seekable(source)
    spool: BinaryIO | None = None
    if not seekable:
        spool_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        spool = tempfile.TemporaryFile(dir=spool_dir)  # noqa: SIM115 (returned to the caller)
    digest = hashlib.sha256()
    size = 0
    try:
        if seekable:
            source.seek(0)
        while chunk := source.read(READ_CHUNK):
            size += len(chunk)
            if size > limits.max_bytes:
                raise TooLarge(f"the upload is over the limit of {limits.max_bytes} bytes")
            digest.update(chunk)
            if spool is not None:
                spool.write(chunk)
    except BaseException:
        if spool is not None:
            spool.close()
        raise
    if size == 0:
        if spool is not None:
            spool.close()
        raise InvalidAudio("the upload is empty")
    target = spool if spool is not None else source
    target.seek(0)
    return Upload(target, digest.hexdigest(), size)


def _seekable(source: BinaryIO) -> bool:
    try:
        return bool(source.seekable()) and source.seek(0, os.SEEK_CUR) >= 0
    except (AttributeError, OSError, ValueError):
        return False


def decode_to_flac(
    upload: Upload, limits: AudioLimits, work_dir: Path, *, write_flac: bool = True
) -> DecodedAudio:
    """Decode every block (the only sure test that audio is whole) and write FLAC alongside.

    Raises InvalidAudio for what is not accepted audio, is corrupt or truncated, or has no
    samples, and TooLarge once the decoded duration passes the limit.
    """
    upload.file.seek(0)
    try:
        info = sf.SoundFile(upload.file)
    except (sf.LibsndfileError, RuntimeError, TypeError):
        raise InvalidAudio("the upload is not audio in a supported format") from None
    with info:
        major = info.format
        if major not in FORMATS or (major == "OGG" and info.subtype not in OGG_CODECS):
            raise InvalidAudio(f"audio format {major}/{info.subtype} is not accepted")
        if info.channels not in (1, 2):
            raise InvalidAudio("only mono or two-channel (agent/customer) audio is accepted")
        if info.samplerate <= 0:
            raise InvalidAudio("the audio has no sample rate")
        if info.samplerate > MAX_SAMPLE_RATE:
            raise UnsupportedSampleRate(
                f"the audio's sample rate is {info.samplerate} Hz; "
                f"at most {MAX_SAMPLE_RATE} Hz is accepted"
            )
        max_frames = int(limits.max_duration_s * info.samplerate)
        if info.frames > max_frames:
            raise TooLarge(f"the audio is longer than {limits.max_duration_s:.0f} s")
        name, media_type = FORMATS[major]
        high = info.subtype in HIGH_RESOLUTION
        out = _work_file(work_dir) if write_flac and major != "FLAC" else None
        try:
            frames, pcm_md5 = _decode_blocks(info, out, high, max_frames, name)
        except BaseException:
            if out is not None:
                out.close()
            raise
        declared = info.frames
        rate, channels = info.samplerate, info.channels
    try:
        _check_complete(upload, name, frames, declared, rate, pcm_md5)
    except BaseException:
        if out is not None:
            out.close()
        raise
    return DecodedAudio(name, media_type, rate, channels, frames, out)


def _work_file(work_dir: Path) -> BinaryIO:
    work_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    return tempfile.TemporaryFile(dir=work_dir)  # noqa: SIM115 (the caller closes it)


def _decode_blocks(
    info: sf.SoundFile, out: BinaryIO | None, high: bool, max_frames: int, name: str
) -> tuple[int, str | None]:
    dtype = "int32" if high else "int16"
    writer = None
    md5 = hashlib.md5(usedforsecurity=False) if name == "flac" else None
    frames = 0
    try:
        if out is not None:
            writer = sf.SoundFile(
                out,
                "w",
                samplerate=info.samplerate,
                channels=info.channels,
                format="FLAC",
                subtype="PCM_24" if high else "PCM_16",
                compression_level=FLAC_COMPRESSION,
                closefd=False,
            )
        # Not SoundFile.blocks(): it pads a short stream to the frame count in the header.
        while len(block := info.read(BLOCK_FRAMES, dtype=dtype, always_2d=True)):
            frames += len(block)
            if frames > max_frames:
                raise TooLarge("the audio is longer than the configured limit")
            if writer is not None:
                writer.write(block)
            if md5 is not None:
                md5.update(_pcm_bytes(block, info.subtype))
    except (sf.LibsndfileError, RuntimeError, ValueError) as exc:
        log.info("audio_decode_failed", error=type(exc).__name__)
        raise InvalidAudio("the audio is corrupt or truncated") from None
    finally:
        if writer is not None:
            writer.close()
    if frames == 0:
        raise InvalidAudio("the audio has no samples")
    return frames, (md5.hexdigest() if md5 is not None and info.subtype in MD5_SUBTYPES else None)


MD5_SUBTYPES = frozenset({"PCM_16", "PCM_24", "PCM_S8"})


def _pcm_bytes(block: np.ndarray, subtype: str) -> bytes:
    """Samples as FLAC's MD5 covers them: interleaved, signed, little-endian, whole bytes."""
    if subtype == "PCM_16":
        return block.astype("<i2", copy=False).tobytes()
    if subtype == "PCM_24":
        wide = (block.astype("<i4", copy=False) >> 8).astype("<i4")
        return wide.view(np.uint8).reshape(-1, 4)[:, :3].tobytes()
    if subtype == "PCM_S8":
        return (block.astype("<i2", copy=False) >> 8).astype("i1").tobytes()
    return b""


def _check_complete(
    upload: Upload, name: str, frames: int, declared: int, rate: int, pcm_md5: str | None
) -> None:
    """Truncation that decoders forgive: a short WAV data chunk, a FLAC whose sample count or
    MD5 does not match its STREAMINFO, an Ogg stream without its end-of-stream page."""
    if name == "wav":
        _check_wav(upload)
    elif name == "flac":
        _check_flac(upload, frames, pcm_md5)
    elif name == "ogg":
        _check_ogg(upload, frames, rate)
    if name in {"wav", "flac"} and declared > 0 and frames != declared:
        raise InvalidAudio("the audio is truncated")
    # Lossy streams declare their length from a header (Ogg granule, MP3 Xing/Info or an
    # estimate from the bit rate), so allow a little slack before calling them short.
    if name in {"ogg", "mp3"} and declared > 0 and frames < declared * 0.99 - 2304:
        raise InvalidAudio("the audio is truncated")


def _check_wav(upload: Upload) -> None:
    f = upload.file
    f.seek(0)
    head = f.read(12)
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return  # RF64/WAVEX variants: libsndfile's own checks apply
    offset = 12
    while offset + 8 <= upload.size:
        f.seek(offset)
        chunk_id, chunk_size = struct.unpack("<4sI", f.read(8))
        if chunk_id == b"data":
            if chunk_size in (0, 0xFFFFFFFF):
                return  # written while streaming: the length was never filled in
            if offset + 8 + chunk_size > upload.size:
                raise InvalidAudio("the audio is truncated")
            return
        offset += 8 + chunk_size + (chunk_size & 1)


def _check_flac(upload: Upload, frames: int, pcm_md5: str | None) -> None:
    f = upload.file
    f.seek(0)
    head = f.read(42)
    if len(head) < 42 or head[:4] != b"fLaC" or head[4] & 0x7F != 0:
        raise InvalidAudio("the FLAC stream has no STREAMINFO")
    info = head[8:42]
    packed = int.from_bytes(info[10:18], "big")
    bits = ((packed >> 36) & 0x1F) + 1
    total = packed & 0xFFFFFFFFF
    expected_md5 = info[18:34].hex()
    if total and total != frames:
        raise InvalidAudio("the audio is truncated")
    if bits in (8, 16, 24) and expected_md5 != "0" * 32 and pcm_md5 and pcm_md5 != expected_md5:
        raise InvalidAudio("the audio is corrupt (FLAC checksum mismatch)")


def _check_ogg(upload: Upload, frames: int, rate: int) -> None:
    """Walk the page headers: contiguous, numbered in order, ending in a whole EOS page whose
    granule position (the stream's length) the decoded audio reaches."""
    f = upload.file
    offset = 0
    sequence: dict[int, int] = {}
    eos = False
    granule = 0
    granule_rate = rate
    while offset < upload.size:
        f.seek(offset)
        header = f.read(27)
        if len(header) < 27 or header[:4] != b"OggS" or eos:
            raise InvalidAudio("the audio is truncated or corrupt (broken Ogg page)")
        flags, segments = header[5], header[26]
        (granule_here,) = struct.unpack("<q", header[6:14])
        serial, number = struct.unpack("<II", header[14:22])
        lacing = f.read(segments)
        if len(lacing) < segments:
            raise InvalidAudio("the audio is truncated (broken Ogg page)")
        if offset == 0 and f.read(8) == b"OpusHead":
            granule_rate = 48000  # Opus counts granules at 48 kHz whatever the output rate
        if granule_here > 0:
            granule = granule_here
        if serial in sequence and number != sequence[serial] + 1:
            raise InvalidAudio("the audio is corrupt (Ogg pages missing or out of order)")
        sequence[serial] = number
        eos = bool(flags & 0x04)
        offset += 27 + segments + sum(lacing)
    if offset != upload.size or not eos:
        raise InvalidAudio("the audio is truncated (no end of stream)")
    if frames / rate < granule / granule_rate * 0.99 - 0.1:
        raise InvalidAudio("the audio is corrupt (decoded less than the stream declares)")


def iter_file(path: Path | BinaryIO) -> Iterator[bytes]:
    """A file's bytes in chunks, from the start."""
    if isinstance(path, Path):
        with path.open("rb") as handle:
            yield from iter(lambda: handle.read(READ_CHUNK), b"")
        return
    path.seek(0)
    yield from iter(lambda: path.read(READ_CHUNK), b"")
