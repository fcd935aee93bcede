"""`callvault training list [--state S] [--json]`."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import structlog
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from callvault.accounts.models import Account
from callvault.cli import app
from callvault.runtime import Runtime
from callvault.training import service
from tests.access.conftest import principal_of
from tests.training.conftest import MakeCall


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    yield
    structlog.reset_defaults()


def test_list_shows_clips_by_state_as_json(
    session: Session, runtime: Runtime, author: Account, make_call: MakeCall
) -> None:
    recording = make_call()
    clip = service.cut_clip(
        session,
        runtime,
        principal_of(author),
        recording_id=recording.id,
        start=1,
        end=11,
        title="Tekniskt fel i appen",
        tags=["tekniskt fel"],
        lesson="Felsök stegvis.",
    )
    runner = CliRunner()
    drafts = runner.invoke(app, ["training", "list", "--state", "draft", "--json"])
    assert drafts.exit_code == 0, drafts.output
    rows = json.loads(drafts.output)
    assert [(r["id"], r["state"], r["tags"]) for r in rows] == [
        (str(clip.id), "draft", ["tekniskt fel"])
    ]
    approved = runner.invoke(app, ["training", "list", "--state", "approved", "--json"])
    assert json.loads(approved.output) == []
    table = runner.invoke(app, ["training", "list"])
    assert table.exit_code == 0 and "Tekniskt" in table.output
    bad = runner.invoke(app, ["training", "list", "--state", "nonsense"])
    assert bad.exit_code != 0
