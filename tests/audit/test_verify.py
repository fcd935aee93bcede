"""Tests that `verify_chain` finds alteration, removal, reordering and truncation."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from callvault.audit.checkpoints import create_checkpoint
from callvault.audit.models import AuditEntry
from callvault.audit.service import record
from callvault.audit.signing import CheckpointSigner, ensure_signing_key, load_signer
from callvault.audit.verify import verify_chain
from callvault.runtime import Runtime
from tests.audit.helpers import allow_tampering, make_chain


@pytest.fixture
def signer(runtime: Runtime) -> CheckpointSigner:
    ensure_signing_key(runtime.settings.resolved_audit_signing_key)
    return load_signer(runtime.settings.resolved_audit_signing_key)


def run(session: Session, signer: CheckpointSigner) -> tuple[bool, int | None, set[str]]:
    report = verify_chain(session.connection(), signer.verifier)
    return report.ok, report.first_bad_seq, {p.kind for p in report.problems}


def test_verify_accepts_an_untouched_chain_with_checkpoints(
    session: Session, runtime: Runtime, signer: CheckpointSigner
) -> None:
    make_chain(session, 5)
    assert create_checkpoint(session, runtime, signer=signer) is not None
    make_chain(session, 3)
    report = verify_chain(session.connection(), signer.verifier)
    assert report.ok, report.problems
    assert report.entries >= 8
    assert report.checkpoints >= 1


def sql(statement: str) -> Callable[[Session, list[AuditEntry]], int]:
    """A tampering step: run `statement` with :k (the attacked entry's seq); returns k."""

    def tamper(session: Session, entries: list[AuditEntry]) -> int:
        k = int(entries[3].seq)
        for part in statement.replace(":k", str(k)).split(";"):
            session.connection().exec_driver_sql(part)
        return k

    return tamper


def rehash_after_edit(session: Session, entries: list[AuditEntry]) -> int:
    """Alter an entry and give it a hash that matches its new content."""
    from callvault.audit.chain import canonical_entry, canonical_text, canonical_time, link_hash

    e = entries[3]
    forged = canonical_entry(
        e.seq, canonical_time(e.at), e.actor, e.action, e.object_type, e.object_id,
        "forged reason", e.source, e.outcome, canonical_text(e.details),
    )  # fmt: skip
    session.connection().exec_driver_sql(
        f"UPDATE audit_entries SET reason = 'forged reason', hash = "  # noqa: S608
        f"'{link_hash(e.prev_hash, forged)}' WHERE seq = {e.seq}"
    )
    return int(e.seq) + 1


@pytest.mark.parametrize(
    ("tamper", "kind", "offset"),
    [
        (sql("UPDATE audit_entries SET reason = 'rewritten' WHERE seq = :k"), "altered", 0),
        (sql("UPDATE audit_entries SET actor = 'system' WHERE seq = :k"), "altered", 0),
        (sql("UPDATE audit_entries SET details = '{\"i\":99}' WHERE seq = :k"), "altered", 0),
        (sql("UPDATE audit_entries SET at = at WHERE seq = :k"), None, 0),
        (sql("DELETE FROM audit_entries WHERE seq = :k"), "missing", 0),
        (
            sql(
                "UPDATE audit_entries SET seq = -seq WHERE seq IN (:k, :k + 1);"
                "UPDATE audit_entries SET seq = CASE WHEN seq = -:k THEN :k + 1 ELSE :k END "
                "WHERE seq < 0"
            ),
            "altered",
            0,
        ),
        (rehash_after_edit, "broken_link", 0),
    ],
    ids=["reason", "actor", "details", "no-op", "removed", "reordered", "rehashed"],
)
def test_verify_finds_the_first_bad_entry(
    session: Session,
    signer: CheckpointSigner,
    tamper: Callable[[Session, list[AuditEntry]], int],
    kind: str | None,
    offset: int,
) -> None:
    entries = make_chain(session, 8)
    allow_tampering(session)
    k = tamper(session, entries)
    session.expire_all()
    ok, first_bad, kinds = run(session, signer)
    if kind is None:
        assert ok
        return
    assert not ok
    assert first_bad == k + offset
    assert kind in kinds


def test_verify_finds_entries_cut_off_after_a_checkpoint(
    session: Session, runtime: Runtime, signer: CheckpointSigner
) -> None:
    entries = make_chain(session, 6)
    create_checkpoint(session, runtime, signer=signer)
    allow_tampering(session)
    cut_from = entries[-2].seq
    connection = session.connection()
    connection.execute(sa.text("DELETE FROM audit_entries WHERE seq >= :s"), {"s": cut_from})
    connection.execute(sa.text("UPDATE audit_head SET seq = :s"), {"s": cut_from - 1})
    ok, first_bad, kinds = run(session, signer)
    assert not ok
    assert first_bad == cut_from
    assert "truncated" in kinds


def test_verify_finds_entries_cut_off_when_the_head_still_counts_them(
    session: Session, signer: CheckpointSigner
) -> None:
    entries = make_chain(session, 4)
    allow_tampering(session)
    session.connection().execute(
        sa.text("DELETE FROM audit_entries WHERE seq = :s"), {"s": entries[-1].seq}
    )
    ok, first_bad, kinds = run(session, signer)
    assert (ok, first_bad, kinds) == (False, entries[-1].seq, {"truncated"})


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_checkpoints SET signature = '00' || substr(signature, 3)",
        "UPDATE audit_checkpoints SET hash = '{h}'",
        "UPDATE audit_checkpoints SET seq = seq - 1",
    ],
    ids=["signature", "hash", "seq"],
)
def test_verify_refuses_a_forged_checkpoint(
    session: Session, runtime: Runtime, signer: CheckpointSigner, statement: str
) -> None:
    entries = make_chain(session, 3)
    create_checkpoint(session, runtime, signer=signer)
    allow_tampering(session)
    session.connection().exec_driver_sql(statement.format(h=entries[0].hash))
    ok, _, kinds = run(session, signer)
    assert not ok
    assert "bad_signature" in kinds


def test_verify_reports_checkpoints_by_another_key(
    session: Session, runtime: Runtime, signer: CheckpointSigner, tmp_path: object
) -> None:
    from pathlib import Path

    make_chain(session, 2)
    create_checkpoint(session, runtime, signer=signer)
    other = Path(str(tmp_path)) / "other.pem"
    ensure_signing_key(other)
    report = verify_chain(session.connection(), load_signer(other).verifier)
    assert {p.kind for p in report.problems} == {"unknown_key"}


def test_verify_progress_counts_every_entry(session: Session, signer: CheckpointSigner) -> None:
    make_chain(session, 7)
    seen: list[int] = []
    report = verify_chain(session.connection(), signer.verifier, on_progress=seen.append,
                          batch_size=3)  # fmt: skip
    assert sum(seen) == report.entries
    assert report.last_seq == report.head_seq


def test_record_after_verify_keeps_the_chain_valid(
    session: Session, signer: CheckpointSigner
) -> None:
    make_chain(session, 2)
    verify_chain(session.connection(), signer.verifier)
    record(session, actor="system", action="audit.test")
    assert verify_chain(session.connection(), signer.verifier).ok


@pytest.mark.parametrize(
    "reason",
    ['quote " and backslash \\', "tab\tnewline\nreturn\r", "control \x01\x1f\x7f", "åäö € 😀"],
)
def test_verify_accepts_reasons_that_need_escaping(
    session: Session, signer: CheckpointSigner, reason: str
) -> None:
    record(session, actor="system", action="audit.test", reason=f"Review: {reason}",
           details={"note_ü": "ö\u2028"})  # fmt: skip
    assert verify_chain(session.connection(), signer.verifier).ok
