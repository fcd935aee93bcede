"""The erasure journal: a signed, append-only file of every erasure, kept outside the database.

One JSON line per entry: `seq`, `kind`, `at` (callvault's clock), `written` (wall time), `ids`
(lists of ids by type, or an epoch name: never a number or a name), `prev` (the previous entry's
hash), `key_id` and `sig` (Ed25519 over the rest, by the audit signing key). The first entry is
`journal_created` with a random journal id, so a journal replaced by another is told apart.

An entry is appended, and made durable, *before* the transaction it describes commits: a crash
in between leaves an entry for an erasure that did not happen, which a replay then carries out
(erring towards erasure), never an erasure that a restore cannot see.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import secrets
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import structlog

from callvault.audit.signing import (
    CheckpointSigner,
    CheckpointVerifier,
    ensure_signing_key,
    load_signer,
    load_verifier,
)
from callvault.errors import IntegrityError
from callvault.runtime import Runtime

log = structlog.get_logger(__name__)

GENESIS = "0" * 64
KINDS = frozenset(
    {
        "journal_created",
        "recordings_erased",
        "withdrawal_registered",
        "consent_evidence_erased",
        "epoch_destroyed",
    }
)
_TAIL = 1 << 16
_lock = threading.Lock()
_signers: dict[Path, CheckpointSigner] = {}


class JournalBroken(IntegrityError):
    """The erasure journal is missing, altered or not the journal a backup was taken with."""


@dataclass(frozen=True)
class JournalEntry:
    seq: int
    kind: str
    at: datetime
    written: datetime
    ids: dict[str, list[str]]
    prev: str
    hash: str


@dataclass(frozen=True)
class JournalHead:
    """Where a journal stood: its id, its newest entry, and the first entry a replay needs."""

    journal_id: str
    seq: int
    hash: str


@dataclass
class JournalReport:
    entries: list[JournalEntry] = field(default_factory=list)
    journal_id: str = ""
    torn_tail: bool = False


def _canonical(doc: Mapping[str, Any]) -> bytes:
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def _signer(runtime: Runtime) -> CheckpointSigner:
    path = runtime.settings.resolved_audit_signing_key
    with _lock:
        if path not in _signers:
            ensure_signing_key(path)
            _signers[path] = load_signer(path)
        return _signers[path]


def journal_erasure(
    runtime: Runtime,
    kind: str,
    ids: Mapping[str, Sequence[object]],
    *,
    at: datetime | None = None,
) -> int:
    """Append one erasure to the journal (durably) and return its seq: the one way in.

    Retention, withdrawal and KEK retirement all call this, before their transaction commits.
    """
    if kind not in KINDS or kind == "journal_created":
        raise ValueError(f"unknown erasure kind {kind!r}")
    clean = {name: sorted(str(v) for v in values) for name, values in ids.items() if values}
    return _append(runtime, kind, clean, at or runtime.clock.now())


def ensure_journal(runtime: Runtime) -> bool:
    """Create the journal (its `journal_created` entry) if missing; True when created now."""
    path = runtime.settings.resolved_erasure_journal_path
    if path.exists():
        return False
    _append(runtime, "journal_created", {"journal": [secrets.token_hex(16)]}, runtime.clock.now())
    return True


def _append(runtime: Runtime, kind: str, ids: dict[str, list[str]], at: datetime) -> int:
    path = runtime.settings.resolved_erasure_journal_path
    signer = _signer(runtime)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    with _lock:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            last = _last_line(fd)
            if last is None:
                seq, prev = 0, GENESIS
                if kind != "journal_created":
                    # A journal that is gone is started again under a new id: a restore then
                    # sees that it does not reach its backup and stops.
                    log.warning("erasure_journal_started_again", path=str(path))
                    created = {"journal": [secrets.token_hex(16)]}
                    seq, prev = _write(fd, signer, seq, prev, "journal_created", created, at)
            else:
                seq, prev = int(last["seq"]), _entry_hash(last)
            seq, _ = _write(fd, signer, seq, prev, kind, ids, at)
            os.fsync(fd)
            return seq
        finally:
            os.close(fd)


def _write(
    fd: int,
    signer: CheckpointSigner,
    seq: int,
    prev: str,
    kind: str,
    ids: dict[str, list[str]],
    at: datetime,
) -> tuple[int, str]:
    doc: dict[str, Any] = {
        "seq": seq + 1,
        "kind": kind,
        "at": at.astimezone(UTC).isoformat(),
        "written": datetime.now(UTC).isoformat(),
        "ids": ids,
        "prev": prev,
        "key_id": signer.key_id,
    }
    doc["sig"] = signer.sign(_canonical(doc))
    os.write(fd, _canonical(doc) + b"\n")
    return seq + 1, _entry_hash(doc)


def _entry_hash(doc: Mapping[str, Any]) -> str:
    return hashlib.sha256(_canonical(doc)).hexdigest()


def _last_line(fd: int) -> dict[str, Any] | None:
    """The newest complete entry; a torn final line (a crash mid-append) is cut off here."""
    size = os.fstat(fd).st_size
    if size == 0:
        return None
    start = max(0, size - _TAIL)
    data = os.pread(fd, size - start, start)
    if not data.endswith(b"\n"):
        cut = data.rfind(b"\n")
        keep = start + cut + 1 if cut >= 0 else start
        if cut < 0 and start > 0:
            raise JournalBroken("the erasure journal's last entry is too long to be one")
        os.ftruncate(fd, keep)
        log.warning("erasure_journal_torn_tail_removed")
        data = data[: cut + 1] if cut >= 0 else b""
    lines = data.rstrip(b"\n").rsplit(b"\n", 1)
    if not lines[-1]:
        return None
    try:
        doc: dict[str, Any] = json.loads(lines[-1])
    except ValueError:
        raise JournalBroken("the erasure journal's last entry is unreadable") from None
    return doc


def read_journal(path: Path, verifier: CheckpointVerifier) -> JournalReport:
    """Every entry, each checked: signature, link to the previous one, seq in order.

    JournalBroken says what is wrong; a torn final line (no newline) is reported, not fatal.
    """
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise JournalBroken(f"the erasure journal is missing ({path})") from None
    except OSError as exc:
        raise JournalBroken(f"the erasure journal cannot be read ({type(exc).__name__})") from None
    report = JournalReport()
    lines = raw.split(b"\n")
    if lines and lines[-1]:
        report.torn_tail = True
    prev, expected = GENESIS, 1
    for number, line in enumerate(lines[:-1], start=1):
        try:
            doc = json.loads(line)
            sig = doc.pop("sig")
            entry = JournalEntry(
                seq=int(doc["seq"]),
                kind=str(doc["kind"]),
                at=datetime.fromisoformat(doc["at"]),
                written=datetime.fromisoformat(doc["written"]),
                ids={str(k): [str(v) for v in vs] for k, vs in doc["ids"].items()},
                prev=str(doc["prev"]),
                hash="",
            )
        except (ValueError, KeyError, TypeError, AttributeError):
            raise JournalBroken(f"the erasure journal's line {number} is unreadable") from None
        if entry.seq != expected or entry.prev != prev or entry.kind not in KINDS:
            raise JournalBroken(f"the erasure journal is broken at line {number} (seq, link)")
        if doc.get("key_id") != verifier.key_id or not verifier.verify(_canonical(doc), sig):
            raise JournalBroken(f"the erasure journal's line {number} has an invalid signature")
        doc["sig"] = sig
        prev = _entry_hash(doc)
        report.entries.append(
            JournalEntry(
                entry.seq, entry.kind, entry.at, entry.written, entry.ids, entry.prev, prev
            )
        )
        expected += 1
    if not report.entries or report.entries[0].kind != "journal_created":
        raise JournalBroken("the erasure journal has no beginning (journal_created)")
    report.journal_id = report.entries[0].ids["journal"][0]
    return report


def journal_head(runtime: Runtime) -> JournalHead:
    """The journal's id and newest entry now (a backup records this)."""
    ensure_journal(runtime)
    report = read_journal(runtime.settings.resolved_erasure_journal_path, _verifier(runtime))
    last = report.entries[-1]
    return JournalHead(report.journal_id, last.seq, last.hash)


def _verifier(runtime: Runtime) -> CheckpointVerifier:
    return load_verifier(runtime.settings.resolved_audit_signing_key)


def entries_since(runtime: Runtime, head: JournalHead, *, grace_from: int) -> list[JournalEntry]:
    """The entries a restore of a backup taken at `head` must replay, from seq `grace_from`.

    JournalBroken unless the journal is intact, is the same journal and still holds `head`.
    """
    report = read_journal(runtime.settings.resolved_erasure_journal_path, _verifier(runtime))
    if report.journal_id != head.journal_id:
        raise JournalBroken("the erasure journal is not the one this backup was taken with")
    if head.seq > len(report.entries) or report.entries[head.seq - 1].hash != head.hash:
        raise JournalBroken("the erasure journal ends before this backup or was rewritten")
    return [e for e in report.entries if e.seq >= grace_from and e.kind != "journal_created"]


def iter_kind(entries: Sequence[JournalEntry], kind: str) -> Iterator[JournalEntry]:
    return (e for e in entries if e.kind == kind)
