"""An audit append locks the chain's head until the transaction ends, so the caller's pending
changes are written before the lock is taken, not while every other append waits."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.orm import Session

from callvault.audit.models import AuditEntry
from callvault.audit.service import record
from callvault.clock import FixedClock
from callvault.consent.models import ConsentOutcome
from callvault.policy.models import PolicyVersion


def test_pending_changes_are_written_before_the_head_is_claimed(
    session: Session, clock: FixedClock, policy_version: PolicyVersion
) -> None:
    statements: list[str] = []

    def seen(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        statements.append(statement)

    outcome = ConsentOutcome(
        occurred_at=clock.now(),
        day=clock.now().date(),
        policy_version_id=policy_version.id,
        outcome="accepted",
        language="sv",
        channel="ivr",
    )
    session.add(outcome)
    engine = session.get_bind()
    sa.event.listen(engine, "before_cursor_execute", seen)
    try:
        record(session, actor="system", action="consent.given", object_id=str(uuid.uuid4()))
    finally:
        sa.event.remove(engine, "before_cursor_execute", seen)
    assert outcome not in session.new
    first_outcome = next(i for i, s in enumerate(statements) if "consent_outcomes" in s)
    first_head = next(i for i, s in enumerate(statements) if "audit_head" in s)
    assert first_outcome < first_head
    assert session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)) >= 1
