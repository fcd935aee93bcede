"""Lifecycle benchmark (PostgreSQL): the retention sweep's cost against store size, and finding a
caller's recordings among millions.

    python -m benchmarks.lifecycle [--small 200000] [--large 2000000] [--due 100000]

Both stores are built in fresh databases in one run, bulk-loaded with COPY, and swept with the
same `delete_expired_recordings` the worker runs. Targets: large/small sweep time <= 1.3, and
p99 of a caller look-up < 20 ms.

How the blobs are modelled: every recording has one vault artifact row (its wrapped data key,
what crypto-shredding destroys) and one consent-evidence row, all bulk-loaded. The blob store
the sweep talks to holds the due recordings' blob names and deletes them in memory: a real
store of 2,000,000 recordings is several TB of audio, and on this machine's disk writing even
the 200,000 due 1 KiB files takes minutes per store. Deleting a file costs the same whatever
else the store holds, so the benchmark measures real file deletion separately (5,000 files
through the vault's file store) and reports the rate with that cost added. Caller numbers are
keyed hashes made with the real keyring; the sealed number column holds a fixed dummy value
(the sweep only ever clears it). Recording purposes are not loaded (the sweep never reads them).
"""

from __future__ import annotations

import argparse
import hmac
import os
import random
import secrets
import shutil
import statistics
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from hashlib import sha256
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from benchmarks.common import throwaway_database
from callvault.clock import FixedClock
from callvault.config import Settings
from callvault.db import load_models, make_engine, make_sessionmaker, transaction
from callvault.recordings.models import Recording
from callvault.retention.service import delete_expired_recordings, overdue_count
from callvault.runtime import Runtime

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
CALLERS_PER_RECORDING = 4  # on average each caller has this many recordings
BIG_TABLES = ("recordings", "consent_evidence", "vault_artifacts")


def build_runtime(url: str, data_dir: Path) -> Runtime:
    settings = Settings(
        env="test", data_dir=data_dir, database_url=url, secret_key=secrets.token_urlsafe(48)
    )
    engine = make_engine(url)
    load_models().create_all(engine)
    runtime = Runtime(settings, engine, make_sessionmaker(engine), FixedClock(NOW))
    runtime.keyring.ensure()
    return runtime


def caller_hash(lookup_key: bytes, caller: int) -> str:
    number = f"+4670{caller:07d}"
    return hmac.new(lookup_key, number.encode(), sha256).hexdigest()


def _copy_text(engine: Engine, table: str, columns: list[str], lines: Iterator[str]) -> None:
    """COPY rows given as ready tab-separated lines, written in ~1 MB chunks."""
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
        with cursor.copy(sql) as copy:
            chunk: list[str] = []
            size = 0
            for line in lines:
                chunk.append(line)
                size += len(line)
                if size > 1 << 20:
                    copy.write("".join(chunk))
                    chunk, size = [], 0
            if chunk:
                copy.write("".join(chunk))
        raw.commit()
    finally:
        raw.close()


def _ts(value: datetime) -> str:
    return value.isoformat()


@dataclass
class Store:
    """One benchmark store: its runtime, the due waves' expiry times and its callers."""

    label: str
    runtime: Runtime
    total: int
    due: int
    wave_times: list[datetime]
    callers: list[int]


def load_store(runtime: Runtime, total: int, due: int, waves: int, seed: int) -> Store:
    """COPY `total` recordings (`due` of them past expiry, in `waves` groups) with evidence and
    key rows. Indexes are dropped during the load and rebuilt after, as a bulk restore would."""
    rng = random.Random(seed)  # noqa: S311 (test data, not secrets)
    engine = runtime.engine
    metadata = load_models()
    lookup_key = runtime.keyring.lookup_key()
    callers = max(1, total // CALLERS_PER_RECORDING)
    with transaction(runtime.sessions) as session:
        from callvault.policy.models import PolicyVersion

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
        version_id = version.id.hex
    indexes = [ix for name in BIG_TABLES for ix in metadata.tables[name].indexes]
    with engine.begin() as conn:
        for ix in indexes:
            conn.exec_driver_sql(f'DROP INDEX IF EXISTS "{ix.name}"')

    pool = os.urandom(16 * total * 3).hex()
    rec_id = [pool[32 * i : 32 * i + 32] for i in range(total)]
    ev_id = [pool[32 * (total + i) : 32 * (total + i) + 32] for i in range(total)]
    art_id = [pool[32 * (2 * total + i) : 32 * (2 * total + i) + 32] for i in range(total)]
    caller_of = [rng.randrange(callers) for _ in range(total)]
    hashes = {c: caller_hash(lookup_key, c) for c in set(caller_of)}
    sealed = "\\\\x" + secrets.token_bytes(60).hex()  # bytea hex, backslash escaped for COPY
    # Wave w (0 = oldest) expires w hours before NOW; each later sweep runs at that wave's time.
    wave_times = [NOW - timedelta(hours=waves - w) for w in range(waves)]
    expiry = [
        _ts(wave_times[i % waves] - timedelta(seconds=1 + i % 3000))
        if i < due
        else _ts(NOW + timedelta(days=1 + i % 89, seconds=i % 86400))
        for i in range(total)
    ]
    started = [_ts(NOW - timedelta(days=91 if i < due else 1 + i % 89)) for i in range(total)]

    _copy_text(
        engine,
        "consent_evidence",
        [
            "id",
            "call_id",
            "digit",
            "given_at",
            "policy_version_id",
            "prompt_sha256",
            "prompt_version",
            "language",
            "caller_number_enc",
            "caller_number_hash",
            "source",
            "created_at",
        ],  # fmt: skip
        (
            f"{ev_id[i]}\tCA{rec_id[i]}\t1\t{started[i]}\t{version_id}\t{'0' * 64}\tv1\tsv\t"
            f"{sealed}\t{hashes[caller_of[i]]}\tivr\t{started[i]}\n"
            for i in range(total)
        ),
    )
    _copy_text(
        engine,
        "recordings",
        [
            "id",
            "call_id",
            "agent_id",
            "team",
            "started_at",
            "ended_at",
            "duration_s",
            "sample_rate",
            "channel_layout",
            "caller_number_enc",
            "caller_number_hash",
            "language",
            "consent_evidence_id",
            "policy_version_id",
            "content_sha256",
            "expires_at",
            "state",
            "created_at",
        ],  # fmt: skip
        (
            f"{rec_id[i]}\tCA{rec_id[i]}\tagent-{i % 300:04d}\tteam-a\t{started[i]}\t"
            f'{started[i]}\t240.0\t8000\t["caller", "agent"]\t{sealed}\t'
            f"{hashes[caller_of[i]]}\tsv\t{ev_id[i]}\t{version_id}\t{'a' * 64}\t"
            f"{expiry[i]}\tready\t{started[i]}\n"
            for i in range(total)
        ),
    )
    wrapped = "\\\\x" + secrets.token_bytes(40).hex()
    now = _ts(NOW)
    _copy_text(
        engine,
        "vault_artifacts",
        [
            "id",
            "owner_id",
            "kind",
            "media_type",
            "blob_name",
            "plain_size",
            "sealed_size",
            "segment_size",
            "kek_id",
            "wrapped_key",
            "created_at",
        ],  # fmt: skip
        (
            f"{art_id[i]}\t{rec_id[i]}\toriginal\taudio/flac\t{rec_id[i]}\t1024\t1024\t"
            f"65536\tkek-bench\t{wrapped}\t{now}\n"
            for i in range(total)
        ),
    )
    with engine.begin() as conn:
        for ix in indexes:
            ix.create(conn)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE")
        conn.exec_driver_sql("CHECKPOINT")
    runtime.__dict__["blobs"] = CountingBlobStore({rec_id[i] for i in range(due)})
    return Store("", runtime, total, due, wave_times, sorted(set(caller_of)))


class CountingBlobStore:
    """The blob store the benchmark's sweep talks to: it holds the due recordings' blob names
    and deletes them in memory (see the module docstring for why; `unlink_cost` measures what
    real file deletion would add)."""

    def __init__(self, names: set[str]) -> None:
        self._names = names
        self.deleted = 0

    def delete(self, name: str) -> None:
        if name in self._names:
            self._names.discard(name)
            self.deleted += 1

    def exists(self, name: str) -> bool:
        return name in self._names

    def names(self) -> Iterator[str]:
        return iter(sorted(self._names))


def unlink_cost(root: Path, count: int = 5000) -> float:
    """Seconds per blob to delete `count` real 1 KiB blobs through the vault's file store."""
    from callvault.vault.service import delete_blobs_from
    from callvault.vault.storage import FileBlobStore

    store = FileBlobStore(root)
    names = [secrets.token_hex(16) for _ in range(count)]
    payload = secrets.token_bytes(1024)
    for name in names:
        folder = root / name[:2]
        folder.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(payload)
    started = time.perf_counter()
    delete_blobs_from(store, names, strict=True)
    return (time.perf_counter() - started) / count


def sweep_wave(store: Store, wave: int) -> tuple[float, int, int]:
    """One periodic run at wave `wave`'s time: returns (seconds, deleted, overdue after)."""
    runtime = store.runtime
    clock = runtime.clock
    assert isinstance(clock, FixedClock)
    clock.set(store.wave_times[wave])
    started = time.perf_counter()
    result = delete_expired_recordings(runtime, batch_size=runtime.settings.retention_batch_size)
    seconds = time.perf_counter() - started
    return seconds, result.finished, result.overdue_after


def check_store(store: Store) -> None:
    with transaction(store.runtime.sessions) as session:
        states = dict(
            session.execute(
                sa.select(Recording.state, sa.func.count()).group_by(Recording.state)
            ).all()
        )
        overdue = overdue_count(session, NOW)
    assert states == {"deleted": store.due, "ready": store.total - store.due}, states
    assert overdue == 0, overdue
    assert not list(store.runtime.blobs.names()), "blobs left behind"


def lookup_latencies(runtime: Runtime, callers: list[int], samples: int) -> list[float]:
    """Time the look-up a withdrawal or DSAR starts with: number -> keyed hash -> recordings."""
    from callvault.phone import normalise_e164
    from callvault.vault.fields import phone_lookup_hash

    rng = random.Random(7)  # noqa: S311 (picks test callers)
    chosen = [rng.choice(callers) for _ in range(samples)]
    timings = []
    with runtime.engine.connect() as conn:
        for caller in chosen:
            written = f"070-{caller // 10000 % 1000:03d} {caller % 10000:04d}"
            started = time.perf_counter()
            number_hash = phone_lookup_hash(runtime.keyring, normalise_e164(written))
            rows = conn.execute(
                sa.select(Recording.id, Recording.started_at, Recording.expires_at).where(
                    Recording.caller_number_hash == number_hash,
                    Recording.state.in_(("ingested", "processing", "ready")),
                )
            ).all()
            timings.append(time.perf_counter() - started)
            assert rows, "every chosen caller has recordings"
    return timings


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description="callvault lifecycle benchmark (PostgreSQL)")
    parser.add_argument("--small", type=int, default=200_000)
    parser.add_argument("--large", type=int, default=2_000_000)
    parser.add_argument("--due", type=int, default=100_000)
    parser.add_argument("--waves", type=int, default=4)
    parser.add_argument("--lookups", type=int, default=2000)
    parser.add_argument(
        "--admin-url",
        default=os.environ.get("CALLVAULT_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test"),
    )
    args = parser.parse_args()

    import logging

    import structlog

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    tmp = Path(tempfile.mkdtemp(prefix="callvault-bench-"))
    try:
        with (
            throwaway_database(args.admin_url, "small") as small_url,
            throwaway_database(args.admin_url, "large") as large_url,
        ):
            stores: list[Store] = []
            for label, url, total in (
                ("small", small_url, args.small),
                ("large", large_url, args.large),
            ):
                runtime = build_runtime(url, tmp / label)
                started = time.perf_counter()
                store = load_store(runtime, total, args.due, args.waves, seed=len(stores))
                store.label = label
                stores.append(store)
                took = time.perf_counter() - started
                print(f"[{label}] loaded {total:,} recordings in {took:.0f} s")
            small, large = stores
            latencies = lookup_latencies(large.runtime, large.callers, args.lookups)
            # The sweeps alternate wave by wave, so drifting load on a shared machine falls on
            # both stores alike; each wave is one full periodic run of the real sweep.
            seconds = {"small": 0.0, "large": 0.0}
            deleted = {"small": 0, "large": 0}
            for wave in range(args.waves):
                for store in (small, large) if wave % 2 == 0 else (large, small):
                    took, done, overdue = sweep_wave(store, wave)
                    seconds[store.label] += took
                    deleted[store.label] += done
                    print(
                        f"[{store.label}] wave {wave + 1}/{args.waves}: {done:,} deleted in "
                        f"{took:.1f} s, overdue after: {overdue}"
                    )
            for store in stores:
                check_store(store)
                store.runtime.engine.dispose()
        per_blob = unlink_cost(tmp / "unlink")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    ratio = seconds["large"] / seconds["small"]
    p50, p99 = percentile(latencies, 0.5) * 1000, percentile(latencies, 0.99) * 1000
    print()
    for label, store in (("small", small), ("large", large)):
        rate = deleted[label] / seconds[label]
        with_files = deleted[label] / (seconds[label] + deleted[label] * per_blob)
        print(
            f"sweep of {deleted[label]:,} due in a store of {store.total:,}: "
            f"{seconds[label]:.1f} s, {rate:,.0f} deleted/s "
            f"({with_files:,.0f}/s adding real file deletion)"
        )
    print(f"time ratio large/small: {ratio:.2f} (target <= 1.3)")
    print(f"real file deletion: {per_blob * 1000:.2f} ms per blob (measured on 5,000 files)")
    print(
        f"caller look-up among {large.total:,}: p50 {p50:.2f} ms, p99 {p99:.2f} ms, "
        f"mean {statistics.mean(latencies) * 1000:.2f} ms over {len(latencies)} (target p99 < 20)"
    )


if __name__ == "__main__":
    main()
