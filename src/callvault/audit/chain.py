"""The hash chain: canonical JSON of an entry and the SHA-256 that links it to the one before."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

GENESIS_HASH = "0" * 64
HASHED_FIELDS = (
    "seq",
    "at",
    "actor",
    "action",
    "object_type",
    "object_id",
    "reason",
    "source",
    "outcome",
    "details",
)


def canonical_time(at: datetime) -> str:
    """UTC, microseconds, 'Z': 2026-03-02T09:00:00.000000Z."""
    if at.tzinfo is None:
        raise ValueError("audit times must be timezone-aware")
    return f"{at.astimezone(UTC):%Y-%m-%dT%H:%M:%S.%f}Z"


def canonical_json(document: Mapping[str, Any]) -> bytes:
    """Sorted keys, no whitespace, UTF-8: the same bytes for the same content, on any backend."""
    return json.dumps(
        document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode()


def entry_document(
    *,
    seq: int,
    at: str,
    actor: str,
    action: str,
    object_type: str | None,
    object_id: str | None,
    reason: str | None,
    source: str | None,
    outcome: str,
    details: Mapping[str, Any],
) -> dict[str, Any]:
    """The hashed content of an entry (`at` already in canonical_time form)."""
    return {
        "seq": seq,
        "at": at,
        "actor": actor,
        "action": action,
        "object_type": object_type,
        "object_id": object_id,
        "reason": reason,
        "source": source,
        "outcome": outcome,
        "details": details,
    }


def link_hash(prev_hash: str, canonical: bytes) -> str:
    """hash = SHA-256( prev_hash as 64 ASCII hex chars || "\\n" || canonical JSON ), hex."""
    return hashlib.sha256(prev_hash.encode("ascii") + b"\n" + canonical).hexdigest()


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
