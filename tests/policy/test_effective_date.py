"""`callvault init --policy-effective`: version 1 counts from the day the policy took effect."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from callvault.audit.models import AuditEntry
from callvault.clock import FixedClock
from callvault.errors import InvalidInput
from callvault.policy.service import (
    ensure_first_version,
    set_first_version_effective,
    version_in_force,
)
from callvault.runtime import Runtime


def test_version_1_counts_from_the_start_of_that_day_in_stockholm(
    session: Session, runtime: Runtime, clock: FixedClock
) -> None:
    ensure_first_version(session, runtime)
    set_first_version_effective(session, runtime, date(2026, 1, 15))
    session.expire_all()
    # Midnight in Stockholm is 23:00 UTC the day before (winter time).
    assert version_in_force(session, datetime(2026, 1, 14, 23, 0, tzinfo=UTC)).number == 1
    with pytest.raises(InvalidInput):  # no version in force yet
        version_in_force(session, datetime(2026, 1, 14, 22, 59, tzinfo=UTC))
    actions = session.scalars(sa.select(AuditEntry.action)).all()
    assert "policy.effective_date_set" in actions


def test_it_is_idempotent_and_moves_only_earlier(
    session: Session, runtime: Runtime, clock: FixedClock
) -> None:
    set_first_version_effective(session, runtime, date(2026, 2, 1))
    set_first_version_effective(session, runtime, date(2026, 2, 1))
    with pytest.raises(InvalidInput):
        set_first_version_effective(session, runtime, date(2026, 2, 20))
    with pytest.raises(InvalidInput):
        set_first_version_effective(session, runtime, date(2026, 12, 24))  # after the clock


def test_the_cli_option_reaches_init(runtime: Runtime, session: Session) -> None:
    from typer.testing import CliRunner

    from callvault.cli import app

    result = CliRunner().invoke(app, ["init", "--policy-effective", "2025-12-01"])
    assert result.exit_code == 0, result.output
    assert "version 1 in force from 2025-12-01" in result.output
    session.expire_all()
    assert version_in_force(session, datetime(2025, 12, 1, 12, tzinfo=UTC)).number == 1
    bad = CliRunner().invoke(app, ["init", "--policy-effective", "1.12.2025"])
    assert bad.exit_code != 0
