"""Segmented AES-256-GCM: round trips, and tampering, truncation and reordering detected."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable

import pytest

from callvault.errors import IntegrityError
from callvault.vault import envelope

SEG = 16
STEP = SEG + envelope.TAG
H = envelope.HEADER_SIZE


def _seal(data: bytes, key: bytes, context: bytes = b"ctx") -> bytes:
    counter = [0]
    chunks = [data[i : i + 7] for i in range(0, len(data), 7)] or [b""]
    blob = b"".join(
        envelope.encrypt_stream(
            key, chunks, context, nonce_prefix=os.urandom(7), segment_size=SEG, counter=counter
        )
    )
    assert counter[0] == len(data)
    return blob


def _open(blob: bytes, key: bytes, size: int, context: bytes = b"ctx") -> bytes:
    header = envelope.Header.unpack(blob[:H])
    final = envelope.segment_count(size, header.segment_size) - 1
    return b"".join(
        envelope.decrypt_segments(
            key, header, context, [blob[H:]], first=0, last=final, final_index=final
        )
    )


@pytest.mark.parametrize("size", [0, 1, SEG - 1, SEG, SEG + 1, 3 * SEG, 5 * SEG + 3])
def test_round_trip_for_every_segment_boundary(size: int) -> None:
    key = secrets.token_bytes(32)
    data = os.urandom(size)
    blob = _seal(data, key)
    assert len(blob) == envelope.sealed_size(size, SEG)
    assert _open(blob, key, size) == data


def _swap_segments(blob: bytes) -> bytes:
    body = blob[H:]
    return blob[:H] + body[STEP : 2 * STEP] + body[:STEP] + body[2 * STEP :]


def _flip(at: int) -> Callable[[bytes], bytes]:
    return lambda b: b[:at] + bytes([b[at] ^ 0x01]) + b[at + 1 :]


ATTACKS: list[tuple[str, Callable[[bytes], bytes], int]] = [
    ("flip-header-prefix", _flip(10), 0),
    ("flip-first-segment", _flip(H + 3), 0),
    ("flip-last-tag", lambda b: b[:-1] + bytes([b[-1] ^ 0x80]), 0),
    ("reorder-segments", _swap_segments, 0),
    ("drop-final-segment", lambda b: b[: H + 3 * STEP], 0),
    ("cut-mid-segment", lambda b: b[: H + STEP + 5], 0),
    ("drop-middle-segment", lambda b: b[: H + STEP] + b[H + 2 * STEP :], 0),
    ("append-bytes", lambda b: b + b"\x00" * 5, 0),
    ("size-claims-less", lambda b: b, -SEG),
    ("size-claims-more", lambda b: b, +SEG),
]


@pytest.mark.parametrize(
    ("alter", "size_delta"), [(a, d) for _, a, d in ATTACKS], ids=[n for n, _, _ in ATTACKS]
)
def test_tampering_truncation_and_reordering_fail_authentication(
    alter: Callable[[bytes], bytes], size_delta: int
) -> None:
    key = secrets.token_bytes(32)
    data = os.urandom(3 * SEG + 5)
    blob = alter(_seal(data, key))
    with pytest.raises(IntegrityError):
        _open(blob, key, len(data) + size_delta)


def test_a_blob_cannot_be_opened_under_another_context_or_key() -> None:
    key = secrets.token_bytes(32)
    blob = _seal(b"hello world, this is audio", key, b"owner-a|original")
    with pytest.raises(IntegrityError):
        _open(blob, key, 26, b"owner-b|original")
    with pytest.raises(IntegrityError):
        _open(blob, secrets.token_bytes(32), 26, b"owner-a|original")


@pytest.mark.parametrize("data", [b"", b"CVE1", b"XXXX" + b"\0" * 11])
def test_a_bad_header_is_refused(data: bytes) -> None:
    with pytest.raises(IntegrityError):
        envelope.Header.unpack(data[:H] if len(data) >= H else data)
