"""`callvault withdraw`: the same withdrawal as the API, from the command line."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
import structlog
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from callvault.cli import app
from callvault.recordings.models import Recording
from callvault.runtime import Runtime
from callvault.worker.queue import huey
from tests.retention.factory import RecordingFactory


@pytest.fixture(autouse=True)
def _isolated() -> Iterator[None]:
    before = huey.url
    huey.use("memory://")
    yield
    huey.use(before)
    structlog.reset_defaults()


def test_withdraw_by_number_prints_a_reference_and_deletes(
    session: Session, vault_runtime: Runtime, make_recording: RecordingFactory
) -> None:
    recording = make_recording(number="+46701234567")
    result = CliRunner().invoke(app, ["withdraw", "--number", "070-123 45 67"])
    assert result.exit_code == 0, result.output
    assert re.search(r"Reference: W-[0-9A-Z]{4}-[0-9A-Z]{4}", result.output)
    session.expire_all()
    assert session.scalar(sa.select(Recording.state).where(Recording.id == recording.id)) == (
        "deleted"
    )


@pytest.mark.parametrize("args", [[], ["--number", "070-123 45 67", "--call-reference", "CA1"]])
def test_withdraw_needs_exactly_one_way_to_find_the_caller(
    vault_runtime: Runtime, args: list[str]
) -> None:
    result = CliRunner().invoke(app, ["withdraw", *args])
    assert result.exit_code != 0
