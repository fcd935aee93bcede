"""Backup benchmark (SQLite): backup of a large store, restore with a long journal replay, and
the retention sweep with key epochs against the sweep without them.

    python -m benchmarks.backup [--recordings 100000] [--erasures 10000] [--sweep 20000]
    python -m benchmarks.backup --sweep-only --sweep 20000   # run under another checkout too

Targets (issue 14): backup of a SQLite store with 100,000 recordings' rows and keys <= 60 s;
a restore that replays 10,000 erasures <= 60 s.

The store is bulk-loaded: per recording one consent-evidence row, one recording row and two
vault artifacts (wrapped data keys), each wrapped key under its recording's epoch KEK. The
blobs the rows name are not written (100,000 recordings are terabytes of audio): the backup
lists them as it does for s3:// storage; copying file:// blobs is measured apart, as a rate.
The erasures to replay are journal entries, each a withdrawal of one recording (the costliest
shape: one transaction each) or, with --retention-share, retention batches of 500.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from callvault.clock import FixedClock
from callvault.config import Settings
from callvault.db import load_models, make_engine, make_sessionmaker, migrate, transaction
from callvault.runtime import Runtime, set_runtime

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
CHUNK = 5000
SEALED_SIZE = 1100


class ListedBlobs:
    """A blob store that only knows names (the rows' blobs are not written; see above)."""

    def __init__(self) -> None:
        self._names: set[str] = set()

    def put(self, name: str, chunks: Any) -> int:
        self._names.add(name)
        return sum(len(c) for c in chunks)

    def exists(self, name: str) -> bool:
        return True

    def delete(self, name: str) -> None:
        self._names.discard(name)

    def names(self) -> Iterator[str]:
        return iter(())

    def stat(self, name: str) -> Any:
        from callvault.vault.storage import BlobInfo

        return BlobInfo(name=name, size=SEALED_SIZE, modified_at=NOW)

    def get(self, name: str) -> Iterator[bytes]:
        return iter(())

    def check(self) -> None:
        return None


def build_runtime(data_dir: Path) -> Runtime:
    settings = Settings(
        env="test",
        data_dir=data_dir,
        database_url=f"sqlite:///{data_dir / 'callvault.db'}",
        secret_key=secrets.token_urlsafe(48),
    )
    data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.resolved_database_url)
    load_models()
    migrate(engine)
    runtime = Runtime(settings, engine, make_sessionmaker(engine), FixedClock(NOW))
    runtime.keyring.ensure()
    runtime.__dict__["blobs"] = ListedBlobs()
    set_runtime(runtime)
    return runtime


def _wrap_under(
    runtime: Runtime, artifact_id: uuid.UUID, expires_at: datetime
) -> tuple[str, bytes]:
    """A data key wrapped as the vault wraps it: under the epoch's KEK (or the active KEK on a
    checkout without epochs), bound to the artifact."""
    aad = f"callvault/data-key/v1|{artifact_id}".encode()
    try:
        from callvault.vault.epochs import epoch_of
    except ImportError:
        wrapped = runtime.keyring.wrap(secrets.token_bytes(32), aad)
    else:
        wrapped = runtime.keyring.wrap(secrets.token_bytes(32), aad, epoch_of(expires_at))  # type: ignore[call-arg]
    return wrapped.kek_id, wrapped.ciphertext


def load_store(runtime: Runtime, total: int, due: int = 0) -> list[uuid.UUID]:
    """`total` recordings (the first `due` past expiry), expiries spread over 13 weeks."""
    from callvault.consent.models import ConsentEvidence
    from callvault.policy.models import PolicyVersion
    from callvault.recordings.models import Recording
    from callvault.vault.models import Artifact

    with transaction(runtime.sessions) as session:
        version = PolicyVersion(
            number=1,
            effective_from=NOW - timedelta(days=400),
            approved_by=None,
            change_note="benchmark",
            text_sv=".",
            text_en=".",
            prompt_sv=".",
            prompt_en=".",
            created_at=NOW - timedelta(days=400),
        )
        session.add(version)
        session.flush()
        version_id = version.id
    ids = [uuid.uuid4() for _ in range(total)]
    expiry = [
        NOW - timedelta(minutes=1 + i % 5000) if i < due else NOW + timedelta(hours=1 + i % 2160)
        for i in range(total)
    ]
    sealed = secrets.token_bytes(60)
    for start in range(0, total, CHUNK):
        part = range(start, min(total, start + CHUNK))
        evidence, recordings, artifacts = [], [], []
        for i in part:
            started = expiry[i] - timedelta(days=90)
            ev = uuid.uuid4()
            evidence.append(
                dict(id=ev, call_id=f"CA{ids[i].hex}", digit="1", given_at=started,
                     policy_version_id=version_id, prompt_sha256="0" * 64, prompt_version="v1",
                     language="sv", caller_number_enc=sealed, caller_number_hash=f"{i:064x}",
                     source="ivr", created_at=started)
            )  # fmt: skip
            recordings.append(
                dict(id=ids[i], call_id=f"CA{ids[i].hex}", agent_id="agent-1", team="t",
                     started_at=started, ended_at=started, duration_s=180.0, sample_rate=8000,
                     channel_layout=["caller", "agent"], caller_number_enc=sealed,
                     caller_number_hash=f"{i:064x}", language="sv", consent_evidence_id=ev,
                     policy_version_id=version_id, content_sha256="a" * 64,
                     expires_at=expiry[i], state="ready", created_at=started)
            )  # fmt: skip
            for kind in ("original", "metadata"):
                artifact_id = uuid.uuid4()
                kek_id, wrapped = _wrap_under(runtime, artifact_id, expiry[i])
                artifacts.append(
                    dict(id=artifact_id, owner_id=ids[i], kind=kind, media_type="audio/flac",
                         blob_name=uuid.uuid4().hex, plain_size=1024, sealed_size=SEALED_SIZE,
                         segment_size=65536, kek_id=kek_id, wrapped_key=wrapped,
                         created_at=started)
                )  # fmt: skip
        with runtime.engine.begin() as conn:
            conn.execute(sa.insert(ConsentEvidence), evidence)
            conn.execute(sa.insert(Recording), recordings)
            conn.execute(sa.insert(Artifact), artifacts)
    return ids


def bench_backup(total: int) -> dict[str, float]:
    from callvault.backup.service import create_backup, verify_backup

    with tempfile.TemporaryDirectory(prefix="cv-bench-backup-") as tmp:
        runtime = build_runtime(Path(tmp) / "var")
        started = time.perf_counter()
        load_store(runtime, total)
        loaded = time.perf_counter() - started
        size = Path(runtime.settings.resolved_database_url.split("///", 1)[1]).stat().st_size
        started = time.perf_counter()
        summary = create_backup(runtime, Path(tmp) / "backup")
        seconds = time.perf_counter() - started
        started = time.perf_counter()
        assert verify_backup(runtime, summary.path).ok
        verify = time.perf_counter() - started
        runtime.engine.dispose()
        return {
            "recordings": total,
            "load_s": loaded,
            "database_mb": size / 2**20,
            "backup_s": seconds,
            "verify_s": verify,
            "blob_copy_mb_per_s": blob_copy_rate(Path(tmp) / "copy"),
        }


def blob_copy_rate(root: Path, count: int = 400, size: int = 256 * 1024) -> float:
    """MB/s a backup copies file:// blobs at (400 blobs of 256 KiB)."""
    from callvault.backup.service import _copy_blob
    from callvault.vault.storage import FileBlobStore

    store = FileBlobStore(root / "blobs")
    payload = secrets.token_bytes(size)
    names = [uuid.uuid4().hex for _ in range(count)]
    for name in names:
        store.put(name, [payload])
    rt = Runtime.__new__(Runtime)
    rt.__dict__["blobs"] = store
    (root / "out").mkdir()
    started = time.perf_counter()
    for name in names:
        _copy_blob(rt, name, root / "out" / name)
    return count * size / 2**20 / (time.perf_counter() - started)


def bench_restore(total: int, erasures: int, retention_share: float) -> dict[str, float]:
    from callvault.backup.journal import journal_erasure
    from callvault.backup.restore import restore_backup
    from callvault.backup.service import create_backup

    with tempfile.TemporaryDirectory(prefix="cv-bench-restore-") as tmp:
        runtime = build_runtime(Path(tmp) / "var")
        ids = load_store(runtime, total)
        backup = create_backup(runtime, Path(tmp) / "backup").path
        by_retention = int(erasures * retention_share)
        started = time.perf_counter()
        for start in range(0, by_retention, 500):
            batch = ids[start : min(by_retention, start + 500)]
            journal_erasure(runtime, "recordings_erased", {"recordings": batch})
        for rid in ids[by_retention:erasures]:
            withdrawal = [uuid.uuid4()]
            journal_erasure(
                runtime, "recordings_erased", {"recordings": [rid], "withdrawals": withdrawal}
            )
        journalled = time.perf_counter() - started
        started = time.perf_counter()
        summary = restore_backup(runtime, backup)
        seconds = time.perf_counter() - started
        assert summary.replay is not None and summary.replay.recordings_erased == erasures
        runtime.engine.dispose()
        return {
            "recordings": total,
            "erasures": erasures,
            "withdrawal_entries": erasures - by_retention,
            "journal_append_s": journalled,
            "restore_s": seconds,
        }


def bench_sweep(total: int, due: int) -> dict[str, float]:
    """The retention sweep of `due` recordings in a store of `total` (this checkout's code)."""
    from callvault.retention.service import delete_expired_recordings

    with tempfile.TemporaryDirectory(prefix="cv-bench-sweep-") as tmp:
        runtime = build_runtime(Path(tmp) / "var")
        load_store(runtime, total, due)
        started = time.perf_counter()
        result = delete_expired_recordings(runtime)
        seconds = time.perf_counter() - started
        assert result.finished == due, result
        runtime.engine.dispose()
        return {"recordings": total, "due": due, "sweep_s": seconds, "per_s": due / seconds}


def sweep_on(checkout: Path, total: int, due: int) -> dict[str, float]:
    """The same sweep benchmark with another checkout's callvault (e.g. main, before epochs)."""
    env = {**os.environ, "PYTHONPATH": f"{checkout / 'src'}:{Path(__file__).parent.parent}"}
    out = subprocess.run(  # noqa: S603 (this interpreter, this module)
        [sys.executable, "-m", "benchmarks.backup", "--sweep-only", "--json"]
        + ["--recordings", str(total), "--sweep", str(due)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--recordings", type=int, default=100_000)
    parser.add_argument("--erasures", type=int, default=10_000)
    parser.add_argument("--restore-recordings", type=int, default=20_000)
    parser.add_argument("--retention-share", type=float, default=0.0)
    parser.add_argument("--sweep", type=int, default=10_000, help="recordings due in the sweep")
    parser.add_argument("--sweep-only", action="store_true")
    parser.add_argument("--compare-with", type=Path, help="another checkout (e.g. /work/main)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    import logging

    import structlog

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    if args.sweep_only:
        print(json.dumps(bench_sweep(args.recordings, args.sweep)))
        return
    results: dict[str, Any] = {}
    results["backup"] = bench_backup(args.recordings)
    print("backup", json.dumps(results["backup"]), flush=True)
    results["restore"] = bench_restore(args.restore_recordings, args.erasures, args.retention_share)
    print("restore", json.dumps(results["restore"]), flush=True)
    sweep_total = max(args.sweep * 2, 20_000)
    results["sweep_epochs"] = bench_sweep(sweep_total, args.sweep)
    print("sweep with epochs", json.dumps(results["sweep_epochs"]), flush=True)
    if args.compare_with:
        results["sweep_before"] = sweep_on(args.compare_with, sweep_total, args.sweep)
        print("sweep before epochs", json.dumps(results["sweep_before"]), flush=True)
    backup_ok = results["backup"]["backup_s"] <= 60 or args.recordings < 100_000
    restore_ok = results["restore"]["restore_s"] <= 60
    print(
        f"backup of {args.recordings} recordings: {results['backup']['backup_s']:.1f} s "
        f"(target <= 60 s){'' if backup_ok else '  MISSED'}; restore replaying "
        f"{args.erasures} erasures: {results['restore']['restore_s']:.1f} s (target <= 60 s)"
        f"{'' if restore_ok else '  MISSED'}"
    )
    shutil.rmtree(Path(tempfile.gettempdir()) / "cv-none", ignore_errors=True)


if __name__ == "__main__":
    main()
