"""Tests for the canonical form and hash of audit entries."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from callvault.audit.chain import canonical_entry, canonical_text, canonical_time, link_hash

text = st.text(max_size=40)
optional_text = st.none() | text
json_scalars = st.none() | st.booleans() | st.integers() | text
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
    max_leaves=8,
)


@given(
    seq=st.integers(min_value=1, max_value=2**62),
    at=st.datetimes(timezones=st.just(UTC)),
    actor=text,
    action=text,
    object_type=optional_text,
    object_id=optional_text,
    reason=optional_text,
    source=optional_text,
    outcome=text,
    details=st.dictionaries(text, json_values, max_size=4),
)
def test_canonical_entry_equals_sorted_compact_json_of_the_entry(
    seq: int,
    at: datetime,
    actor: str,
    action: str,
    object_type: str | None,
    object_id: str | None,
    reason: str | None,
    source: str | None,
    outcome: str,
    details: dict[str, Any],
) -> None:
    document = {
        "seq": seq,
        "at": canonical_time(at),
        "actor": actor,
        "action": action,
        "object_type": object_type,
        "object_id": object_id,
        "reason": reason,
        "source": source,
        "outcome": outcome,
        "details": details,
    }
    expected = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    built = canonical_entry(
        seq,
        canonical_time(at),
        actor,
        action,
        object_type,
        object_id,
        reason,
        source,
        outcome,
        canonical_text(details),
    )
    assert built == expected


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (datetime(2026, 3, 2, 9, 0, tzinfo=UTC), "2026-03-02T09:00:00.000000Z"),
        (
            datetime(2026, 3, 2, 10, 0, 0, 5, tzinfo=timezone(timedelta(hours=1))),
            "2026-03-02T09:00:00.000005Z",
        ),
    ],
)
def test_canonical_time_is_utc_with_microseconds(at: datetime, expected: str) -> None:
    assert canonical_time(at) == expected


def test_canonical_time_refuses_naive_datetimes() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        canonical_time(datetime(2026, 3, 2, 9, 0))  # noqa: DTZ001


def test_link_hash_is_sha256_of_previous_hash_newline_and_canonical_json() -> None:
    prev = "ab" * 32
    assert link_hash(prev, '{"a":1}') == hashlib.sha256(f'{prev}\n{{"a":1}}'.encode()).hexdigest()
    assert link_hash(prev, '{"a":1}') != link_hash("cd" * 32, '{"a":1}')
