"""Tests for `callvault audit verify | checkpoint | tail | refusals`."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import structlog
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from callvault.audit.service import record
from callvault.audit.signing import ensure_signing_key
from callvault.cli import app
from callvault.runtime import Runtime
from tests.audit.helpers import ACCOUNT, allow_tampering, make_chain


@pytest.fixture
def cli(runtime: Runtime) -> Iterator[CliRunner]:
    ensure_signing_key(runtime.settings.resolved_audit_signing_key)
    yield CliRunner()
    # The root callback points structlog at the runner's stderr, which closes afterwards.
    structlog.reset_defaults()


def test_verify_exits_zero_on_an_intact_chain(cli: CliRunner, session: Session) -> None:
    make_chain(session, 4)
    assert cli.invoke(app, ["audit", "checkpoint"]).exit_code == 0
    result = cli.invoke(app, ["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert "audit trail OK" in result.output


def test_verify_prints_the_first_bad_entry_and_exits_non_zero(
    cli: CliRunner, session: Session
) -> None:
    entries = make_chain(session, 4)
    allow_tampering(session)
    session.connection().exec_driver_sql(
        f"DELETE FROM audit_entries WHERE seq = {entries[2].seq}"  # noqa: S608
    )
    result = cli.invoke(app, ["audit", "verify"])
    assert result.exit_code == 1
    assert f"first bad entry {entries[2].seq}" in result.output
    as_json = json.loads(cli.invoke(app, ["audit", "verify", "--json"]).stdout)
    assert as_json["first_bad_seq"] == entries[2].seq


def test_verify_without_a_key_still_checks_hashes_but_fails_on_checkpoints(
    cli: CliRunner, session: Session, runtime: Runtime
) -> None:
    make_chain(session, 2)
    cli.invoke(app, ["audit", "checkpoint"])
    runtime.settings.resolved_audit_signing_key.unlink()
    runtime.settings.resolved_audit_signing_key.with_name("audit-signing.pub.pem").unlink()
    result = cli.invoke(app, ["audit", "verify"])
    assert result.exit_code == 1
    assert "no key to check it" in result.output


def test_checkpoint_says_when_nothing_is_new(cli: CliRunner, session: Session) -> None:
    make_chain(session, 1)
    assert "checkpoint signed at entry" in cli.invoke(app, ["audit", "checkpoint"]).output
    assert "nothing new" in cli.invoke(app, ["audit", "checkpoint"]).output


def test_tail_filters_and_prints_json_lines(cli: CliRunner, session: Session) -> None:
    make_chain(session, 3)
    record(session, actor="system", action="retention.delete", outcome="ok")
    result = cli.invoke(app, ["audit", "tail", "--actor", ACCOUNT, "-n", "2", "--json"])
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["actor"] for line in lines] == [ACCOUNT, ACCOUNT]
    assert lines[0]["seq"] > lines[1]["seq"]


def test_refusals_lists_actor_and_day(cli: CliRunner, session: Session, runtime: Runtime) -> None:
    record(session, actor=ACCOUNT, action="access.refused", outcome="refused")
    result = cli.invoke(app, ["audit", "refusals", "--json"])
    assert {"actor": ACCOUNT, "day": str(runtime.clock.now().date()), "count": 1} in [
        json.loads(line) for line in result.stdout.splitlines()
    ]
