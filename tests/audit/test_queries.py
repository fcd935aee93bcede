"""Tests for searching the audit trail and the DPO's refusals per user and day."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest
from sqlalchemy.orm import Session

from callvault.audit.queries import RefusalCount, refusals_by_actor_and_day, search
from callvault.audit.service import record
from callvault.clock import FixedClock

ALICE = f"account:{uuid.UUID(int=0xA11CE)}"
BOB = f"account:{uuid.UUID(int=0xB0B)}"
REC = str(uuid.UUID(int=42))


@pytest.fixture
def trail(session: Session, clock: FixedClock) -> list[int]:
    """Six entries over two days; returns their seqs."""
    rows = [
        (ALICE, "recording.play", "recording", REC, "ok", 0),
        (ALICE, "access.refused", "recording", REC, "refused", 1),
        (BOB, "access.refused", "recording", str(uuid.uuid4()), "refused", 2),
        (BOB, "access.refused", None, None, "refused", 25),
        (ALICE, "grant.create", "grant", str(uuid.uuid4()), "ok", 26),
        (BOB, "recording.download", "recording", REC, "ok", 27),
    ]
    start = clock.now()
    return [
        record(session, actor=a, action=act, object_type=ot, object_id=oid, outcome=out,
               at=start + timedelta(hours=h)).seq
        for a, act, ot, oid, out, h in rows
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"actor": ALICE}, [4, 1, 0]),
        ({"action": "access.refused"}, [3, 2, 1]),
        ({"action": "recording.*"}, [5, 0]),
        ({"object_type": "recording", "object_id": REC}, [5, 1, 0]),
        ({"outcome": "refused", "actor": BOB}, [3, 2]),
        ({"since_h": 25}, [5, 4, 3]),
        ({"until_h": 2}, [1, 0]),
        ({"since_h": 1, "until_h": 26}, [3, 2, 1]),
    ],
)
def test_search_applies_every_filter_newest_first(
    session: Session, clock: FixedClock, trail: list[int], filters: dict[str, object],
    expected: list[int],
) -> None:  # fmt: skip
    kwargs = dict(filters)
    for bound in ("since", "until"):
        hours = kwargs.pop(f"{bound}_h", None)
        if hours is not None:
            kwargs[bound] = clock.now() + timedelta(hours=int(str(hours)))
    found = [e.seq for e in search(session, **kwargs, limit=100) if e.seq >= trail[0]]
    assert found == [trail[i] for i in expected]


def test_search_pages_with_before_seq(session: Session, trail: list[int]) -> None:
    first = search(session, limit=2)
    second = search(session, limit=2, before_seq=first[-1].seq)
    assert [e.seq for e in first + second] == [trail[5], trail[4], trail[3], trail[2]]


def test_search_treats_like_wildcards_in_actions_literally(
    session: Session, trail: list[int]
) -> None:
    assert search(session, action="recording_%.*") == []


def test_refusals_are_counted_per_actor_and_utc_day(
    session: Session, clock: FixedClock, trail: list[int]
) -> None:
    day = clock.now().date()
    rows = refusals_by_actor_and_day(session, clock.now(), clock.now() + timedelta(days=2))
    assert rows == [
        RefusalCount(BOB, day + timedelta(days=1), 1),
        RefusalCount(BOB, day, 1),  # same count: by actor id
        RefusalCount(ALICE, day, 1),
    ]
    assert all(isinstance(r.day, date) for r in rows)


def test_refusals_respect_the_period(session: Session, clock: FixedClock, trail: list[int]) -> None:
    rows = refusals_by_actor_and_day(
        session, clock.now() + timedelta(hours=2), clock.now() + timedelta(hours=3)
    )
    assert rows == [RefusalCount(BOB, clock.now().date(), 1)]
