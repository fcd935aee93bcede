"""SIGKILL during a backup, a restore and a journal replay, 20 times each.

A backup is either complete and verifiable or clearly incomplete (no directory by its name);
a restore either finishes its replay or leaves callvault refusing to serve, and running it
again finishes it. Each kill hits a real process running the CLI command, forked from this
one so that it starts in milliseconds rather than seconds.
"""

from __future__ import annotations

import os
import random
import signal
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from callvault.app import create_app
from callvault.backup.marker import RestoreUnfinished, restore_unfinished
from callvault.backup.service import verify_backup
from callvault.clock import FixedClock
from callvault.db import transaction
from callvault.policy.models import PolicyVersion
from callvault.runtime import Runtime, set_runtime
from callvault.vault.models import Artifact
from callvault.withdrawal.service import withdraw
from tests.backup.calls import cli
from tests.retention.factory import RecordingFactory

KILLS = 20
RECORDINGS, WITHDRAWN = 80, 40


def _env(runtime: Runtime) -> dict[str, str]:
    s = runtime.settings
    assert s.secret_key is not None
    return {
        "CALLVAULT_ENV": "test",
        "CALLVAULT_DATA_DIR": str(s.data_dir),
        "CALLVAULT_DATABASE_URL": s.resolved_database_url,
        "CALLVAULT_SECRET_KEY": s.secret_key.get_secret_value(),
    }


def _fork_cli(runtime: Runtime, args: list[str], stdout: Path | None = None) -> int:
    """Run `callvault ARGS` in a forked child with its own runtime; returns the child's pid."""
    runtime.engine.dispose()
    env = _env(runtime)
    pid = os.fork()
    if pid:
        return pid
    code = 1
    try:  # the child: never return into pytest
        out = os.open(stdout or os.devnull, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(out, 1)
        os.dup2(os.open(os.devnull, os.O_WRONLY), 2)
        sys.stdout = os.fdopen(1, "w", buffering=1)
        os.environ.update(env)
        set_runtime(None)
        from callvault.cli import app

        app(args, standalone_mode=False)
        code = 0
    finally:
        os._exit(code)


def _wait(pid: int) -> int:
    _, status = os.waitpid(pid, 0)
    return status


def _kill_after(pid: int, ready: Callable[[], bool], delay: float) -> bool:
    """SIGKILL the child `delay` seconds after `ready()` holds; False if it finished first."""
    deadline = time.monotonic() + 60
    while not ready():
        if os.waitpid(pid, os.WNOHANG) != (0, 0):
            return False
        assert time.monotonic() < deadline, "the child never got going"
        time.sleep(0.001)
    time.sleep(delay)
    os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    return os.WIFSIGNALED(status)


def _timed_run(runtime: Runtime, args: list[str], stdout: Path | None = None) -> float:
    start = time.monotonic()
    status = _wait(_fork_cli(runtime, args, stdout))
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, args
    return time.monotonic() - start


@pytest.fixture
def populated(world: tuple[Runtime, FixedClock]) -> tuple[Runtime, list[uuid.UUID]]:
    runtime, clock = world
    clock.set(datetime.now(UTC) - timedelta(days=1))  # the children use the real clock
    cli("init")
    clock.set(datetime.now(UTC))
    with transaction(runtime.sessions) as session:
        version = session.scalars(sa.select(PolicyVersion)).one()
        make = RecordingFactory(session, runtime, version)
        ids = [
            make(number=f"+4670{i:07d}", expires_at=clock.now() + timedelta(days=30)).id
            for i in range(RECORDINGS)
        ]
    return runtime, ids


def test_a_killed_backup_is_complete_or_clearly_not(
    populated: tuple[Runtime, list[uuid.UUID]], tmp_path: Path
) -> None:
    runtime, _ = populated
    full = _timed_run(runtime, ["backup", "create", str(tmp_path / "whole")])
    assert verify_backup(runtime, tmp_path / "whole").ok
    rng = random.Random(14)  # noqa: S311 (kill timing, not secrets)
    incomplete = 0
    for i in range(KILLS):
        out = tmp_path / f"b{i}"
        pid = _fork_cli(runtime, ["backup", "create", str(out)])
        _kill_after(
            pid, lambda o=out: any(o.parent.glob(f"{o.name}.partial-*")), rng.uniform(0, full)
        )
        if out.exists():
            assert verify_backup(runtime, out).ok, f"kill {i}: a backup by its name must verify"
        else:
            incomplete += 1
            (partial,) = out.parent.glob(f"{out.name}.partial-*")
            assert partial.is_dir()  # clearly incomplete: not under the name asked for
    assert incomplete >= KILLS // 4, "too few kills landed during the backup to test anything"


def _erased(runtime: Runtime, ids: list[uuid.UUID]) -> bool:
    with transaction(runtime.sessions) as session:
        left = session.scalar(
            sa.select(sa.func.count()).select_from(Artifact).where(Artifact.owner_id.in_(ids))
        )
    return left == 0


def _check_after_kill(runtime: Runtime, withdrawn: list[uuid.UUID], i: int) -> bool:
    """Either the replay finished, or nothing is served; True when it was unfinished."""
    if restore_unfinished(runtime):
        client = TestClient(create_app(runtime))
        assert client.get("/healthz").status_code == 503, f"kill {i}: served mid-restore"
        with pytest.raises(RestoreUnfinished):
            from callvault.backup.setup import initialise

            initialise(runtime)
        return True
    assert _erased(runtime, withdrawn), f"kill {i}: restore done but an erasure is back"
    return False


@pytest.mark.slow  # about 35 s: 40 restores
def test_a_killed_restore_or_replay_finishes_or_refuses_to_serve(
    populated: tuple[Runtime, list[uuid.UUID]], tmp_path: Path
) -> None:
    runtime, ids = populated
    backup = tmp_path / "backup"
    _timed_run(runtime, ["backup", "create", str(backup)])
    withdrawn = ids[:WITHDRAWN]
    with transaction(runtime.sessions) as session:
        for n in range(WITHDRAWN):  # one withdrawal each: as many journal entries to replay
            withdraw(session, runtime, number=f"+4670{n:07d}", actor="system", channel="cli")
    assert _erased(runtime, withdrawn)
    log = tmp_path / "restore.out"
    full = _timed_run(runtime, ["backup", "restore", str(backup), "--yes"], log)
    assert "replayed" in log.read_text() and _erased(runtime, withdrawn)
    rng = random.Random(41)  # noqa: S311 (kill timing, not secrets)

    unfinished = 0
    for i in range(KILLS):  # anywhere in the restore
        pid = _fork_cli(runtime, ["backup", "restore", str(backup), "--yes"])
        _kill_after(pid, lambda: restore_unfinished(runtime), rng.uniform(0, full))
        runtime.engine.dispose()
        unfinished += _check_after_kill(runtime, withdrawn, i)
    assert unfinished >= KILLS // 4, "too few kills landed during the restore"

    unfinished = 0
    for i in range(KILLS):  # during the journal replay
        pid = _fork_cli(runtime, ["backup", "restore", str(backup), "--yes"], log)
        replaying = lambda: "restoring: journal" in log.read_text()  # noqa: E731
        _kill_after(pid, replaying, rng.uniform(0, full / 4))
        runtime.engine.dispose()
        unfinished += _check_after_kill(runtime, withdrawn, i)
    assert unfinished >= KILLS // 4, "too few kills landed during the replay"

    _timed_run(runtime, ["backup", "restore", str(backup), "--yes"])  # run again: it finishes
    runtime.engine.dispose()
    assert not restore_unfinished(runtime) and _erased(runtime, withdrawn)
    cli("audit", "verify")
    cli("fsck", "--grace-minutes", "0")
