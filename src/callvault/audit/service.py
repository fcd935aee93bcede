"""Writing the audit trail: append an entry to the hash chain inside a transaction."""

from __future__ import annotations

import atexit
import queue
import re
import threading
import time
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa
import structlog
from sqlalchemy.orm import Session, make_transient_to_detached

from callvault.audit.chain import (
    GENESIS_HASH,
    canonical_entry,
    canonical_text,
    canonical_time,
    link_hash,
)
from callvault.audit.models import AuditEntry, AuditHead
from callvault.audit.privacy import redact_personal_data, refuse_personal_data, visible_text
from callvault.db import transaction
from callvault.edge import client_host
from callvault.errors import IntegrityError, InvalidInput
from callvault.runtime import Runtime, get_runtime

log = structlog.get_logger(__name__)

ACTOR = re.compile(
    r"^(system|anonymous|(account|service):[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$"
)
ACTION = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
OUTCOMES = frozenset({"ok", "refused", "error"})
MAX_REASON = 2000

_head: sa.Table = AuditHead.__table__  # type: ignore[assignment]
_entries: sa.Table = AuditEntry.__table__  # type: ignore[assignment]


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    object_type: str | None = None,
    object_id: str | None = None,
    reason: str | None = None,
    source: str | None = None,
    outcome: str = "ok",
    details: Mapping[str, object] | None = None,
    at: datetime | None = None,
) -> AuditEntry:
    """Append one entry to the hash chain inside the caller's transaction.

    Appends are serialised by locking the one-row `audit_head` (a row lock on PostgreSQL, the
    write lock on SQLite) until the caller's transaction ends, so call this late in a
    transaction, after slow work. `details` must hold ids, counts and keyed hashes only: a
    value that looks like a phone number or e-mail address is refused (InvalidInput). The
    free-text `reason` is kept, but any phone number or e-mail address in it is replaced by
    `[phone]` / `[email]` and `details.reason_redacted` lists what was removed, so a refusal is
    never lost for want of a clean reason.
    """
    details = dict(details or {})
    source = audit_source(source)
    _validate(actor, action, object_type, object_id, source, outcome, details)
    if reason is not None:
        reason, kinds = redact_personal_data(visible_text(reason)[:MAX_REASON])
        if kinds:
            details["reason_redacted"] = kinds
    at = at or get_runtime().clock.now()
    try:
        details_text = canonical_text(details)
    except (TypeError, ValueError) as exc:
        raise InvalidInput("audit details must be plain JSON data") from exc

    # The claim locks the chain's head until the caller's transaction ends: write the caller's
    # pending changes first, so that the lock is held for the append and the commit only.
    session.flush()
    # Nothing after the claim may fail on the caller's input: a claimed number must be used.
    connection = session.connection()
    seq = _claim_next_seq(session, connection)
    prev_hash = GENESIS_HASH if seq == 1 else _hash_of(connection, seq - 1)
    canonical = canonical_entry(
        seq,
        canonical_time(at),
        actor,
        action,
        object_type,
        object_id,
        reason,
        source,
        outcome,
        details_text,
    )
    values = {
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
        "prev_hash": prev_hash,
        "hash": link_hash(prev_hash, canonical),
    }
    # A Core insert (the ORM unit of work costs more than the rest of an append), then the row
    # is handed to the session as the persistent object it now is.
    connection.execute(_INSERT, values)
    entry = AuditEntry(**values)
    make_transient_to_detached(entry)
    session.add(entry)
    log.debug("audit_recorded", seq=seq, action=action, outcome=outcome)
    return entry


def record_isolated(runtime: Runtime, **kwargs: Any) -> None:
    """`record` in its own transaction, committed at once (refusals whose request rolls back).

    If the calling request already holds the append lock (it called `record`, or on SQLite it
    has written anything), waiting for it here would deadlock; after a short wait the entry is
    handed to a background writer that appends it once the request's transaction has ended.
    Call it before the request writes, or after it rolls back, to keep it synchronous.
    """
    kwargs.setdefault("at", runtime.clock.now())
    if isinstance(runtime.sessions.kw.get("bind"), sa.Connection):
        # Sessions joined to one connection (tests): no second connection can contend.
        with transaction(runtime.sessions) as session:
            record(session, **kwargs)
        return
    _validate_kwargs(kwargs)
    try:
        _record_with_short_lock_wait(runtime, kwargs)
    except sa.exc.OperationalError as exc:
        if not _is_lock_timeout(exc):
            raise
        log.warning("audit_append_deferred", action=kwargs.get("action"))
        _deferred_writer().submit(runtime, kwargs)


ISOLATED_LOCK_WAIT_MS = 1000
SQLITE_BUSY_TIMEOUT_MS = 30000


def _validate_kwargs(kwargs: Mapping[str, Any]) -> None:
    """Refuse bad input now, in the caller's thread, rather than in the background writer."""
    _validate(
        kwargs["actor"],
        kwargs["action"],
        kwargs.get("object_type"),
        kwargs.get("object_id"),
        kwargs.get("source"),
        kwargs.get("outcome", "ok"),
        dict(kwargs.get("details") or {}),
    )


def _record_with_short_lock_wait(runtime: Runtime, kwargs: dict[str, Any]) -> None:
    with runtime.engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            connection.exec_driver_sql(f"PRAGMA busy_timeout = {ISOLATED_LOCK_WAIT_MS}")
        elif connection.dialect.name == "postgresql":
            connection.exec_driver_sql(f"SET LOCAL lock_timeout = '{ISOLATED_LOCK_WAIT_MS}ms'")
        try:
            with runtime.sessions(bind=connection) as session:
                record(session, **kwargs)
            connection.commit()
        finally:
            connection.rollback()
            if sqlite:
                connection.exec_driver_sql(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
                connection.rollback()


def _is_lock_timeout(exc: sa.exc.OperationalError) -> bool:
    text = str(exc.orig).lower()
    return "database is locked" in text or "lock timeout" in text


class _DeferredWriter:
    """Appends entries that could not take the lock at once, in a thread of its own."""

    def __init__(self) -> None:
        self._queue: queue.Queue[tuple[Runtime, dict[str, Any]]] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="audit-writer", daemon=True)
        self._thread.start()
        atexit.register(self.drain)

    def submit(self, runtime: Runtime, kwargs: dict[str, Any]) -> None:
        self._queue.put((runtime, kwargs))

    def drain(self, timeout: float = 30.0) -> None:
        """Wait until every submitted entry is written (or `timeout` runs out)."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.01)

    def _run(self) -> None:
        while True:
            runtime, kwargs = self._queue.get()
            try:
                for attempt in range(5):
                    try:
                        with transaction(runtime.sessions) as session:
                            record(session, **kwargs)
                        break
                    except sa.exc.OperationalError:
                        time.sleep(0.2 * 2**attempt)
                else:
                    log.error("audit_append_lost", action=kwargs.get("action"))
            except Exception:  # the writer must outlive any one bad entry
                log.exception("audit_append_failed", action=kwargs.get("action"))
            finally:
                self._queue.task_done()


_writer: _DeferredWriter | None = None
_writer_lock = threading.Lock()


def _deferred_writer() -> _DeferredWriter:
    global _writer
    with _writer_lock:
        if _writer is None:
            _writer = _DeferredWriter()
        return _writer


def drain_deferred(timeout: float = 30.0) -> None:
    """Wait for entries handed to the background writer (tests, shutdown)."""
    if _writer is not None:
        _writer.drain(timeout)


def _validate(
    actor: str,
    action: str,
    object_type: str | None,
    object_id: str | None,
    source: str | None,
    outcome: str,
    details: Mapping[str, object],
) -> None:
    if not ACTOR.match(actor):
        raise InvalidInput(
            "audit actor must be 'account:<uuid>', 'service:<uuid>', 'system' or 'anonymous'"
        )
    if not ACTION.match(action) or len(action) > 64:
        raise InvalidInput("audit action must be a dotted lower-case name like 'recording.play'")
    if outcome not in OUTCOMES:
        raise InvalidInput(f"audit outcome must be one of {sorted(OUTCOMES)}")
    if object_type is not None and not ACTION.match(f"x.{object_type}"):
        raise InvalidInput("audit object_type must be a lower-case name like 'recording'")
    if object_id is not None and len(object_id) > 128:
        raise InvalidInput("audit object_id is longer than 128 characters")
    refuse_personal_data(object_id, "object_id")
    refuse_personal_data(details, "details")


SOURCE_WORD = re.compile(r"^[a-z][a-z0-9_\-]{0,31}$")


def audit_source(source: str | None) -> str | None:
    """Where an entry came from as the trail keeps it: a word (`cli`, `worker`, `ivr`) or an IP
    address; anything else (`a@b`, a forged header) is "invalid", so the entry is still written."""
    if source is None or SOURCE_WORD.match(source):
        return source
    return client_host(source)


_CLAIM = sa.update(_head).where(_head.c.id == 1).values(seq=_head.c.seq + 1).returning(_head.c.seq)
_PREVIOUS_HASH = sa.select(_entries.c.hash).where(_entries.c.seq == sa.bindparam("seq"))
_INSERT = sa.insert(_entries)


def _claim_next_seq(session: Session, connection: sa.Connection) -> int:
    """Take the append lock and the next sequence number (the lock is held until commit)."""
    seq = connection.execute(_CLAIM).scalar_one_or_none()
    if seq is None:
        _create_head(session)
        seq = connection.execute(_CLAIM).scalar_one()
    return int(seq)


def _create_head(session: Session) -> None:
    """The head row is made with the table; this covers a database where it went missing."""
    last = session.scalar(sa.select(sa.func.max(_entries.c.seq))) or 0
    try:
        with session.begin_nested():
            session.execute(sa.insert(_head).values(id=1, seq=last))
    except sa.exc.IntegrityError:
        pass  # another transaction made it first


def _hash_of(connection: sa.Connection, seq: int) -> str:
    prev = connection.execute(_PREVIOUS_HASH, {"seq": seq}).scalar()
    if prev is None:
        raise IntegrityError("the audit chain is broken: the previous entry is missing")
    return str(prev)
