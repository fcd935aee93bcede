"""`callvault fsck`: every artifact row has its blob and a usable key; every blob has its row."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
import structlog
from sqlalchemy.orm import Session

from callvault.clock import SystemClock
from callvault.db import load_models, transaction
from callvault.errors import CallvaultError, NotFound
from callvault.parts import part_modules
from callvault.runtime import Runtime
from callvault.vault.models import Artifact
from callvault.vault.service import unwrap_data_key
from callvault.vault.storage import FileBlobStore

log = structlog.get_logger(__name__)

INGEST_WORK_DIR = "tmp"  # under the data directory; see callvault.recordings.service
# A blob younger than this may belong to an ingest whose transaction has not committed yet.
DEFAULT_GRACE = timedelta(minutes=10)


@dataclass(frozen=True)
class Finding:
    """One inconsistency: `kind` names it, `ref` is an id or blob name (never personal data)."""

    kind: str
    ref: str
    repaired: bool = False


@dataclass
class FsckReport:
    findings: list[Finding] = field(default_factory=list)
    artifacts: int = 0
    blobs: int = 0
    skipped_young: int = 0

    @property
    def consistent(self) -> bool:
        return all(f.repaired for f in self.findings)


def fsck(runtime: Runtime, *, repair: bool = False, grace: timedelta = DEFAULT_GRACE) -> FsckReport:
    """Check (and with `repair`, fix) the vault and every part's own consistency checks."""
    report = FsckReport()
    with transaction(runtime.sessions) as session:
        _check_artifacts(session, runtime, report, repair)
        for module in part_modules("fsck"):
            part_check = getattr(module, "check", None)  # this module has none of its own
            if part_check is not None:
                report.findings.extend(part_check(session, runtime, repair=repair))
    with transaction(runtime.sessions) as session:
        known = referenced_blob_names(session)
    _check_blobs(runtime, known, report, repair, grace)
    repaired = [f for f in report.findings if f.repaired]
    if repaired:
        from callvault.audit.service import record_isolated

        record_isolated(
            runtime,
            actor="system",
            action="vault.fsck_repair",
            source="cli",
            details={"repaired": len(repaired), "kinds": sorted({f.kind for f in repaired})},
        )
    log.info(
        "fsck_done",
        findings=len(report.findings),
        repaired=sum(f.repaired for f in report.findings),
        repair=repair,
    )
    return report


def referenced_blob_names(session: Session) -> set[str]:
    """Blob names any table refers to: a `blob_name` column marks a reference (the vault's
    artifacts, and plain blobs such as recorded policy prompts), so fsck never takes another
    part's blob for an orphan."""
    names: set[str] = set()
    for table in load_models().sorted_tables:
        column = table.columns.get("blob_name")
        if column is not None:
            names.update(n for n in session.scalars(sa.select(column)) if n)
    return names


def _check_artifacts(session: Session, runtime: Runtime, report: FsckReport, repair: bool) -> None:
    for artifact in session.scalars(sa.select(Artifact)).all():
        report.artifacts += 1
        problem = None
        try:
            info = runtime.blobs.stat(artifact.blob_name)
            if info.size != artifact.sealed_size:
                problem = "artifact_blob_wrong_size"
        except NotFound:
            problem = "artifact_without_blob"
        if problem is None:
            try:
                unwrap_data_key(runtime.keyring, artifact)
            except CallvaultError:
                problem = "artifact_key_unusable"
        if problem is None:
            continue
        if repair:
            session.delete(artifact)
            runtime.blobs.delete(artifact.blob_name)
        report.findings.append(Finding(problem, str(artifact.id), repair))
    session.flush()


def _check_blobs(
    runtime: Runtime, known: set[str], report: FsckReport, repair: bool, grace: timedelta
) -> None:
    # Blob ages are file-system times, so they are compared with the wall clock.
    cutoff = SystemClock().now() - grace
    for name in list(runtime.blobs.names()):
        report.blobs += 1
        if name in known:
            continue
        try:
            young = runtime.blobs.stat(name).modified_at > cutoff
        except NotFound:
            continue
        if young:
            report.skipped_young += 1
            continue
        if repair:
            runtime.blobs.delete(name)
        report.findings.append(Finding("blob_without_artifact", name, repair))
    leftovers: list[tuple[str, Path]] = []
    if isinstance(runtime.blobs, FileBlobStore):
        leftovers += [("unfinished_blob_write", p) for p in runtime.blobs.temporary_files()]
    # Ingest's work files (spooled uploads, FLAC being written) hold plaintext audio; a crash
    # can leave them behind, so they are found and removed like orphan blobs.
    work = runtime.settings.data_dir / INGEST_WORK_DIR
    if work.is_dir():
        leftovers += [("ingest_work_file", p) for p in sorted(work.iterdir()) if p.is_file()]
    for kind, path in leftovers:
        try:
            modified = datetime.fromtimestamp(path.stat().st_mtime, UTC)
        except FileNotFoundError:
            continue
        if modified > cutoff:
            report.skipped_young += 1
            continue
        if repair:
            path.unlink(missing_ok=True)
        report.findings.append(Finding(kind, path.name, repair))
