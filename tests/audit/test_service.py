"""Tests for appending to the audit trail: chaining, validation, privacy and concurrency."""

from __future__ import annotations

import hashlib
import json
import threading
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from callvault.audit.chain import GENESIS_HASH
from callvault.audit.models import AuditEntry
from callvault.audit.service import drain_deferred, record, record_isolated
from callvault.clock import FixedClock
from callvault.config import Settings
from callvault.db import make_sessionmaker
from callvault.errors import InvalidInput
from callvault.runtime import Runtime

ACCOUNT = f"account:{uuid.UUID(int=1)}"


def recomputed_hash(entry: AuditEntry) -> str:
    """The documented hash, computed independently of callvault.audit.chain."""
    document = {
        "seq": entry.seq,
        "at": entry.at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "actor": entry.actor,
        "action": entry.action,
        "object_type": entry.object_type,
        "object_id": entry.object_id,
        "reason": entry.reason,
        "source": entry.source,
        "outcome": entry.outcome,
        "details": entry.details,
    }
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(f"{entry.prev_hash}\n{canonical}".encode()).hexdigest()


def test_record_links_each_entry_to_the_one_before(session: Session) -> None:
    entries = [
        record(
            session,
            actor=ACCOUNT,
            action="recording.play",
            object_type="recording",
            object_id=str(uuid.uuid4()),
            reason="QA review of call handling",
            source="10.0.0.1",
        )
        for _ in range(3)
    ]
    assert [e.seq for e in entries] == [entries[0].seq + i for i in range(3)]
    assert entries[1].prev_hash == entries[0].hash
    assert entries[2].prev_hash == entries[1].hash
    if entries[0].seq == 1:
        assert entries[0].prev_hash == GENESIS_HASH


def test_record_hash_covers_previous_hash_and_canonical_entry(session: Session) -> None:
    entry = record(
        session,
        actor="system",
        action="retention.delete",
        object_type="recording",
        object_id=str(uuid.uuid4()),
        details={"blobs": 2, "b": [1, "x"]},
    )
    session.expire(entry)
    reloaded = session.get(AuditEntry, entry.seq)
    assert reloaded is not None
    assert reloaded.hash == recomputed_hash(reloaded)
    assert len(reloaded.hash) == 64


def test_record_takes_time_from_the_runtime_clock(session: Session, clock: FixedClock) -> None:
    clock.set(datetime(2026, 5, 1, 12, 30, 15, 123456, tzinfo=UTC))
    entry = record(session, actor="anonymous", action="auth.login_failed", outcome="refused")
    session.expire(entry)
    assert session.get(AuditEntry, entry.seq).at == clock.now()  # type: ignore[union-attr]


def test_record_accepts_an_explicit_time(session: Session, clock: FixedClock) -> None:
    at = clock.now() - timedelta(minutes=5)
    assert record(session, actor="system", action="dsar.export", at=at).at == at


@pytest.mark.parametrize(
    ("source", "stored"),
    [
        ("kund@example.se", "invalid"),  # a forged X-Forwarded-For: written, never refused
        ("a@b", "invalid"),
        ("x" * 300, "invalid"),
        ("not an address", "invalid"),
        ("192.0.2.10", "192.0.2.10"),
        ("2001:DB8::1", "2001:db8::1"),
        ("cli", "cli"),
        (None, None),
    ],
)
def test_a_malformed_source_is_stored_as_invalid(
    session: Session, source: str | None, stored: str | None
) -> None:
    entry = record(session, actor=ACCOUNT, action="auth.login_failed", source=source)
    assert entry.source == stored


@pytest.mark.parametrize(
    ("kwargs", "why"),
    [
        ({"actor": "anna@example.se"}, "actor"),
        ({"actor": "account:not-a-uuid"}, "actor"),
        ({"actor": "root"}, "actor"),
        ({"action": "Play"}, "action"),
        ({"action": "recording play"}, "action"),
        ({"outcome": "maybe"}, "outcome"),
        ({"object_type": "Recording!"}, "object_type"),
        ({"object_id": "+46701234567"}, "object_id"),
        ({"object_id": "kund@example.se"}, "object_id"),
        ({"details": {"caller": "+46701234567"}}, "details"),
        ({"details": {"customer_email": "kund@example.se"}}, "details"),
        ({"details": {"when": datetime(2026, 1, 1, tzinfo=UTC)}}, "details"),
        ({"details": {"x": float("nan")}}, "details"),
    ],
)
def test_record_refuses_malformed_or_personal_fields(
    session: Session, kwargs: dict[str, Any], why: str
) -> None:
    arguments: dict[str, Any] = {"actor": ACCOUNT, "action": "recording.play"} | kwargs
    with pytest.raises(InvalidInput) as caught:
        record(session, **arguments)
    assert why in caught.value.message
    assert "46701234567" not in caught.value.message
    assert "example.se" not in caught.value.message


@pytest.mark.parametrize(
    ("reason", "stored", "kinds"),
    [
        (
            "Kunden +46701234567 klagade på bemötandet",
            "Kunden [phone] klagade på bemötandet",
            ["phone"],
        ),
        ("Follow-up asked by kund@example.se", "Follow-up asked by [email]", ["email"]),
        ("  Quality review of greeting  ", "Quality review of greeting", None),
    ],
)
def test_record_redacts_personal_data_from_the_free_text_reason(
    session: Session, reason: str, stored: str, kinds: list[str] | None
) -> None:
    entry = record(session, actor=ACCOUNT, action="recording.play", reason=reason)
    assert entry.reason == stored
    assert entry.details.get("reason_redacted") == kinds


def test_record_keeps_details_the_caller_gave(session: Session) -> None:
    details = {"grant_id": str(uuid.uuid4()), "variant": "pseudonymised"}
    entry = record(session, actor=ACCOUNT, action="grant.create", details=details)
    assert entry.details == details


def scratch_runtime(engine: Engine, settings: Settings, clock: FixedClock) -> Runtime:
    return Runtime(
        settings=settings, engine=engine, sessions=make_sessionmaker(engine), clock=clock
    )


def committed_actions(rt: Runtime) -> list[tuple[int, str]]:
    with rt.sessions() as s:
        rows = s.execute(sa.select(AuditEntry.seq, AuditEntry.action).order_by(AuditEntry.seq))
        return [(seq, action) for seq, action in rows]


def test_record_isolated_commits_although_the_request_rolls_back(
    scratch_engine: Engine, settings: Settings, clock: FixedClock
) -> None:
    rt = scratch_runtime(scratch_engine, settings, clock)
    with rt.sessions() as request_session:
        request_session.execute(sa.select(AuditEntry.seq)).all()
        record_isolated(rt, actor=ACCOUNT, action="access.refused", outcome="refused")
        assert committed_actions(rt) == [(1, "access.refused")]
        request_session.rollback()


def test_record_isolated_waits_for_a_request_that_holds_the_append_lock(
    scratch_engine: Engine, settings: Settings, clock: FixedClock
) -> None:
    rt = scratch_runtime(scratch_engine, settings, clock)
    with rt.sessions() as request_session:
        record(request_session, actor=ACCOUNT, action="recording.play", at=clock.now())
        record_isolated(rt, actor=ACCOUNT, action="access.refused", outcome="refused")
        request_session.rollback()
    drain_deferred(timeout=10)
    assert committed_actions(rt) == [(1, "access.refused")]


def test_record_isolated_refuses_bad_input_at_once(
    scratch_engine: Engine, settings: Settings, clock: FixedClock
) -> None:
    rt = scratch_runtime(scratch_engine, settings, clock)
    with pytest.raises(InvalidInput):
        record_isolated(rt, actor="kund@example.se", action="access.refused")
    assert committed_actions(rt) == []


def test_concurrent_appends_form_one_unbroken_chain(
    scratch_engine: Engine, settings: Settings, clock: FixedClock
) -> None:
    rt = scratch_runtime(scratch_engine, settings, clock)
    threads, per_thread = 4, 15
    errors: list[BaseException] = []

    def append(n: int) -> None:
        try:
            for i in range(per_thread):
                record_isolated(
                    rt, actor="system", action="test.concurrent", details={"thread": n, "i": i}
                )
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    workers = [threading.Thread(target=append, args=(n,)) for n in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert errors == []
    with rt.sessions() as s:
        entries = s.scalars(sa.select(AuditEntry).order_by(AuditEntry.seq)).all()
    assert [e.seq for e in entries] == list(range(1, threads * per_thread + 1))
    prev = GENESIS_HASH
    for e in entries:
        assert e.prev_hash == prev
        assert e.hash == recomputed_hash(e)
        prev = e.hash


def test_record_recreates_a_missing_head_row_from_the_entries(session: Session) -> None:
    before = record(session, actor="system", action="audit.test")
    session.connection().exec_driver_sql("DELETE FROM audit_head")
    after = record(session, actor="system", action="audit.test")
    assert (after.seq, after.prev_hash) == (before.seq + 1, before.hash)


def test_a_refused_record_leaves_no_gap_in_the_chain(session: Session) -> None:
    before = record(session, actor="system", action="audit.test")
    with pytest.raises(InvalidInput):
        record(session, actor="system", action="audit.test", details={"x": float("inf")})
    after = record(session, actor="system", action="audit.test")
    assert after.seq == before.seq + 1
