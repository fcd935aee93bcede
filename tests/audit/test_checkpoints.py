"""Tests for signed checkpoints, the signing key file and the periodic checkpoint task."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from callvault.audit.chain import checkpoint_message
from callvault.audit.checkpoints import checkpoint_now, create_checkpoint
from callvault.audit.models import AuditCheckpoint
from callvault.audit.setup import initialise
from callvault.audit.signing import (
    CheckpointSigner,
    ensure_signing_key,
    load_signer,
    load_verifier,
    public_path,
)
from callvault.clock import FixedClock
from callvault.config import Settings
from callvault.db import make_sessionmaker
from callvault.errors import ConfigurationError, IntegrityError, KeyringError
from callvault.runtime import Runtime
from tests.audit.helpers import allow_tampering, make_chain


@pytest.fixture
def signer(runtime: Runtime) -> CheckpointSigner:
    ensure_signing_key(runtime.settings.resolved_audit_signing_key)
    return load_signer(runtime.settings.resolved_audit_signing_key)


def test_init_creates_a_private_signing_key_once(runtime: Runtime) -> None:
    path = runtime.settings.resolved_audit_signing_key
    assert initialise(runtime) != []
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert public_path(path).exists()
    assert initialise(runtime) == []
    assert load_verifier(public_path(path)).key_id == load_signer(path).key_id


def test_signing_key_path_is_configurable(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, audit_signing_key=tmp_path / "elsewhere" / "k.pem")
    assert settings.resolved_audit_signing_key == tmp_path / "elsewhere" / "k.pem"


@pytest.mark.parametrize(
    ("prepare", "error"),
    [
        (lambda p: None, KeyringError),
        (lambda p: (ensure_signing_key(p), p.chmod(0o644)), ConfigurationError),
        (lambda p: (p.write_bytes(b"not a key"), p.chmod(0o600)), KeyringError),
    ],
    ids=["missing", "world-readable", "garbage"],
)
def test_load_signer_refuses_unsafe_or_unusable_key_files(
    tmp_path: Path, prepare: object, error: type[Exception]
) -> None:
    path = tmp_path / "audit.pem"
    prepare(path)  # type: ignore[operator]
    with pytest.raises(error):
        load_signer(path)


def test_checkpoint_signs_the_head_sequence_hash_and_time(
    session: Session, runtime: Runtime, signer: CheckpointSigner, clock: FixedClock
) -> None:
    entries = make_chain(session, 3)
    made = create_checkpoint(session, runtime, signer=signer)
    assert made is not None
    assert (made.seq, made.hash, made.at) == (entries[-1].seq, entries[-1].hash, clock.now())
    message = checkpoint_message(made.seq, made.hash, made.at, made.key_id)
    assert signer.verifier.verify(message, made.signature)
    assert not signer.verifier.verify(message.replace(b'"seq"', b'"sec"'), made.signature)


def test_checkpoint_skips_when_nothing_is_new_unless_forced(
    session: Session, runtime: Runtime, signer: CheckpointSigner
) -> None:
    make_chain(session, 2)
    assert create_checkpoint(session, runtime, signer=signer) is not None
    assert create_checkpoint(session, runtime, signer=signer) is None
    assert create_checkpoint(session, runtime, signer=signer, force=True) is not None


def test_checkpoint_refuses_to_sign_a_chain_rewritten_since_the_last_one(
    session: Session, runtime: Runtime, signer: CheckpointSigner
) -> None:
    entries = make_chain(session, 3)
    create_checkpoint(session, runtime, signer=signer)
    more = make_chain(session, 2)
    allow_tampering(session)
    session.connection().execute(
        sa.text("UPDATE audit_entries SET reason = 'rewritten' WHERE seq = :s"),
        {"s": more[0].seq},
    )
    with pytest.raises(IntegrityError, match=f"first bad entry {more[0].seq}"):
        create_checkpoint(session, runtime, signer=signer)
    assert entries


def test_checkpoint_refuses_when_entries_were_cut_off(
    session: Session, runtime: Runtime, signer: CheckpointSigner
) -> None:
    entries = make_chain(session, 3)
    create_checkpoint(session, runtime, signer=signer)
    allow_tampering(session)
    session.connection().execute(
        sa.text("DELETE FROM audit_entries WHERE seq = :s"), {"s": entries[-1].seq}
    )
    with pytest.raises(IntegrityError, match="cut off"):
        create_checkpoint(session, runtime, signer=signer)


def test_periodic_task_checkpoints_in_its_own_transaction(
    scratch_engine: Engine, settings: Settings, clock: FixedClock
) -> None:
    from callvault.audit.service import record_isolated
    from callvault.audit.tasks import audit_checkpoint
    from callvault.runtime import set_runtime
    from callvault.worker.queue import immediate

    sessions = make_sessionmaker(scratch_engine)
    rt = Runtime(settings=settings, engine=scratch_engine, sessions=sessions, clock=clock)
    ensure_signing_key(settings.resolved_audit_signing_key)
    set_runtime(rt)
    try:
        record_isolated(rt, actor="system", action="retention.delete")
        with immediate():
            audit_checkpoint()
        assert checkpoint_now(rt) is None
    finally:
        set_runtime(None)
    with rt.sessions() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(AuditCheckpoint)) == 1
