"""The hash chain: canonical JSON of an entry and the SHA-256 that links it to the one before.

An entry's canonical JSON is the object below with keys sorted, no whitespace, UTF-8, non-ASCII
kept as is, times as UTC `YYYY-MM-DDTHH:MM:SS.ffffffZ`:

    {"action", "actor", "at", "details", "object_id", "object_type", "outcome", "reason", "seq",
     "source"}

and its hash is `sha256(prev_hash_hex_ascii + "\\n" + canonical_json).hexdigest()`. The first
entry's prev_hash is 64 zeros.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from json.encoder import encode_basestring
from typing import Any

GENESIS_HASH = "0" * 64

_ENCODER = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
)


def canonical_time(at: datetime) -> str:
    """UTC, microseconds, 'Z': 2026-03-02T09:00:00.000000Z."""
    if at.tzinfo is None:
        raise ValueError("audit times must be timezone-aware")
    return f"{at.astimezone(UTC):%Y-%m-%dT%H:%M:%S.%f}Z"


def canonical_json(document: Mapping[str, Any]) -> bytes:
    """Sorted keys, no whitespace, UTF-8: the same bytes for the same content, on any backend."""
    return canonical_text(document).encode()


def canonical_text(document: Mapping[str, Any]) -> str:
    return str(_ENCODER.encode(document))


def _string_or_null(value: str | None) -> str:
    return "null" if value is None else str(encode_basestring(value))


def canonical_entry(
    seq: int,
    at: str,
    actor: str,
    action: str,
    object_type: str | None,
    object_id: str | None,
    reason: str | None,
    source: str | None,
    outcome: str,
    details: str,
) -> str:
    """The entry's canonical JSON, built directly (verification runs this a million times).

    `at` is already canonical_time text and `details` already canonical JSON text; the result
    equals canonical_text() of the same entry as a dict (a property test holds it to that).
    """
    q = encode_basestring
    return (
        f'{{"action":{q(action)},"actor":{q(actor)},"at":"{at}","details":{details},'
        f'"object_id":{_string_or_null(object_id)},"object_type":{_string_or_null(object_type)},'
        f'"outcome":{q(outcome)},"reason":{_string_or_null(reason)},"seq":{seq},'
        f'"source":{_string_or_null(source)}}}'
    )


def link_hash(prev_hash: str, canonical: str) -> str:
    """hash = SHA-256( prev_hash as 64 ASCII hex chars || "\\n" || canonical JSON ), hex."""
    return hashlib.sha256(f"{prev_hash}\n{canonical}".encode()).hexdigest()


def checkpoint_message(seq: int, head_hash: str, at: datetime, key_id: str) -> bytes:
    """The bytes an audit checkpoint signs."""
    return canonical_json(
        {
            "kind": "callvault.audit.checkpoint.v1",
            "seq": seq,
            "hash": head_hash,
            "at": canonical_time(at),
            "key_id": key_id,
        }
    )
