"""`callvault retention run [--dry-run]`: progress, a summary, and the same sweep as the worker."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
import structlog
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from callvault.cli import app
from callvault.clock import FixedClock
from callvault.retention.service import overdue_count
from callvault.runtime import Runtime
from tests.retention.factory import RecordingFactory


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    yield
    structlog.reset_defaults()


@pytest.mark.parametrize(
    ("args", "overdue_after"), [(["--dry-run"], 2), ([], 0)], ids=["dry-run", "run"]
)
def test_retention_run_summarises_what_it_did(
    session: Session,
    vault_runtime: Runtime,
    clock: FixedClock,
    make_recording: RecordingFactory,
    args: list[str],
    overdue_after: int,
) -> None:
    for hours in (1, 2):
        make_recording(expires_at=clock.now() - timedelta(hours=hours))
    make_recording(expires_at=clock.now() + timedelta(hours=1))
    result = CliRunner().invoke(app, ["retention", "run", *args])
    assert result.exit_code == 0, result.output
    assert "past their expiry time" in result.output
    assert ("blobs deleted" in result.output) is (not args)
    assert overdue_count(session, clock.now()) == overdue_after
