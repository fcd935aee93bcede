"""Segmented streaming AES-256-GCM (the STREAM construction): truncation and reordering fail.

Blob layout: header (magic, segment size, 7-byte nonce prefix), then segments of
`segment_size` plaintext bytes (the last one shorter, possibly empty), each followed by its
16-byte tag. Segment i's nonce is prefix || i (4 bytes, big-endian) || final flag (1 byte),
and every segment's AAD is the header plus the artifact's context, so a segment cannot be moved,
dropped, cut short or carried into another artifact without failing authentication.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from callvault.errors import IntegrityError

MAGIC = b"CVE1"
SEGMENT_SIZE = 64 * 1024
TAG = 16
_HEADER = struct.Struct(">4sI7s")
HEADER_SIZE = _HEADER.size
MAX_SEGMENTS = 2**32 - 1


@dataclass(frozen=True)
class Header:
    segment_size: int
    nonce_prefix: bytes

    def pack(self) -> bytes:
        return _HEADER.pack(MAGIC, self.segment_size, self.nonce_prefix)

    @classmethod
    def unpack(cls, data: bytes) -> Header:
        if len(data) != HEADER_SIZE:
            raise IntegrityError("encrypted blob is truncated")
        magic, size, prefix = _HEADER.unpack(data)
        if magic != MAGIC or not 0 < size <= 16 * 1024 * 1024:
            raise IntegrityError("encrypted blob has an unknown header")
        return cls(size, prefix)


def _nonce(prefix: bytes, index: int, final: bool) -> bytes:
    if index > MAX_SEGMENTS:
        raise IntegrityError("too many segments")
    return prefix + struct.pack(">IB", index, 1 if final else 0)


def segment_count(plain_size: int, segment_size: int) -> int:
    return max(1, -(-plain_size // segment_size))


def sealed_size(plain_size: int, segment_size: int = SEGMENT_SIZE) -> int:
    return HEADER_SIZE + plain_size + TAG * segment_count(plain_size, segment_size)


def encrypt_stream(
    key: bytes,
    chunks: Iterable[bytes],
    context: bytes,
    *,
    nonce_prefix: bytes,
    segment_size: int = SEGMENT_SIZE,
    counter: list[int] | None = None,
) -> Iterator[bytes]:
    """Yield the sealed blob for `chunks`; `counter[0]` ends as the plaintext size."""
    header = Header(segment_size, nonce_prefix).pack()
    aad = header + context
    aead = AESGCM(key)
    yield header
    pending = b""
    index = 0
    total = 0
    for chunk in chunks:
        total += len(chunk)
        data = memoryview(pending + chunk if pending else chunk)
        at = 0
        # Keep at least one byte back: only the last segment may carry the final flag.
        while len(data) - at > segment_size:
            segment = data[at : at + segment_size]
            yield aead.encrypt(_nonce(nonce_prefix, index, False), segment, aad)
            at += segment_size
            index += 1
        pending = bytes(data[at:])
    yield aead.encrypt(_nonce(nonce_prefix, index, True), pending, aad)
    if counter is not None:
        counter[0] = total


def decrypt_segments(
    key: bytes,
    header: Header,
    context: bytes,
    sealed: Iterable[bytes],
    *,
    first: int,
    last: int,
    final_index: int,
) -> Iterator[bytes]:
    """Decrypt segments first..last (inclusive) from their sealed bytes, read in order.

    `final_index` is the stream's last segment (from the stored plaintext size): it alone must
    carry the final flag, so a blob cut at a segment boundary, or a size that was altered,
    fails authentication.
    """
    aad = header.pack() + context
    aead = AESGCM(key)
    step = header.segment_size + TAG
    buffer = bytearray()
    index = first
    for chunk in sealed:
        buffer += chunk
        while len(buffer) >= step and index <= last and index != final_index:
            yield _open(aead, header, index, False, bytes(buffer[:step]), aad)
            del buffer[:step]
            index += 1
    if index > last:
        if buffer:
            raise IntegrityError("encrypted blob has the wrong length")
        return
    if index != final_index or index != last:
        raise IntegrityError("encrypted blob is truncated")
    if len(buffer) > step or len(buffer) < TAG:
        raise IntegrityError("encrypted blob has the wrong length")
    yield _open(aead, header, index, True, bytes(buffer), aad)


def _open(aead: AESGCM, header: Header, index: int, final: bool, data: bytes, aad: bytes) -> bytes:
    try:
        return aead.decrypt(_nonce(header.nonce_prefix, index, final), data, aad)
    except InvalidTag:
        raise IntegrityError("an encrypted segment failed authentication") from None
