"""Ingest benchmark: recordings/s against plain file copying, and peak memory for a 2-hour call.

    python -m benchmarks.ingest [--count 20] [--rounds 3] [--hours 2] [--skip-memory]

Throughput uses 1-minute stereo 16 kHz 16-bit WAV recordings (synthetic tones and noise) and
measures, in the same run and on the same disk:
  plain copy          the WAV bytes copied to a new file with plain writes (no fsync)
  plain copy + fsync  the same, made durable (temp file, fsync, rename), as the vault does
  encrypt + store     the vault alone: fresh data key, segmented AES-256-GCM, atomic blob
                      write, wrapped key row committed (the part the 2x target is about)
  full ingest         everything `callvault ingest` does: hash, decode-validate every sample,
                      FLAC encode, encrypt + store audio and metadata, consent, audit, commit
Memory: a separate process ingests one synthetic 2-hour recording; the figure is its peak
resident memory above its own idle level (after imports and a warm-up ingest).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import soundfile as sf
from pydantic import SecretStr

from benchmarks.common import (
    MB,
    RssSampler,
    Timing,
    peak_rss_mb,
    print_table,
    ratio,
    reset_peak_rss,
    rss_mb,
    time_it,
)
from callvault.config import Settings
from callvault.db import load_models, transaction
from callvault.runtime import Runtime, set_runtime

RATE = 16000
START = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)


def synthetic_block(seconds: float, seed: int) -> np.ndarray:
    """Two channels of tones with a little noise, as int16 (no real person's voice)."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * RATE)) / RATE
    left = 0.3 * np.sin(2 * np.pi * (180 + seed % 90) * t) * (1 + 0.5 * np.sin(2 * np.pi * 0.3 * t))
    right = 0.25 * np.sin(2 * np.pi * (240 + seed % 70) * t + 1.0)
    noise = 0.01 * rng.standard_normal((len(t), 2))
    return (np.stack([left, right], axis=1) + noise).clip(-1, 1).__mul__(32767).astype(np.int16)


def write_wav(path: Path, seconds: float, seed: int) -> None:
    """Write block by block, so a 2-hour file never sits in memory."""
    with sf.SoundFile(path, "w", RATE, 2, format="WAV", subtype="PCM_16") as out:
        left = seconds
        block = 0
        while left > 0:
            step = min(60.0, left)
            out.write(synthetic_block(step, seed * 1000 + block))
            left -= step
            block += 1


def meta_for(call_id: str) -> object:
    from callvault.recordings.service import IngestMetadata

    return IngestMetadata.model_validate(
        {
            "call_id": call_id,
            "language": "sv",
            "from": "+46701234567",
            "to": "+46812345678",
            "agent": {"id": "agent-1", "name": "Test Agent"},
            "customer": {"name": "Test Kund"},
            "started_at": START.isoformat(),
            "consent": {"digit": "1", "prompt_version": "v1", "at": START.isoformat()},
        }
    )


def make_runtime(data_dir: Path, database_url: str) -> Runtime:
    settings = Settings(
        env="test",
        data_dir=data_dir,
        database_url=database_url,
        secret_key=SecretStr(secrets.token_urlsafe(48)),
    )
    runtime = Runtime.from_settings(settings)
    set_runtime(runtime)
    return runtime


def prepare(runtime: Runtime) -> None:
    from callvault.policy.models import PolicyPurpose, PolicyVersion

    load_models().create_all(runtime.engine)
    runtime.keyring.ensure()
    with transaction(runtime.sessions) as session:
        version = PolicyVersion(
            number=1,
            effective_from=START - timedelta(days=30),
            approved_by=None,
            change_note="benchmark",
            text_sv="-",
            text_en="-",
            prompt_sv="-",
            prompt_en="-",
            created_at=START,
        )
        version.purposes.append(
            PolicyPurpose(
                code="training",
                description_sv="-",
                description_en="-",
                retention_days=90,
                variants=["pseudonymised"],
            )
        )
        session.add(version)


def ingest_file(runtime: Runtime, path: Path, call_id: str) -> None:
    from callvault.recordings.service import IngestMetadata, ingest_recording

    meta = meta_for(call_id)
    assert isinstance(meta, IngestMetadata)
    with path.open("rb") as handle, transaction(runtime.sessions) as session:
        ingest_recording(session, runtime, handle, meta, actor="system", source="cli")


def throughput(work: Path, count: int, rounds: int) -> None:
    from callvault.recordings.audio import iter_file
    from callvault.vault.service import store_artifact

    runtime = make_runtime(work / "var", f"sqlite:///{work / 'bench.db'}")
    prepare(runtime)
    inputs = work / "in"
    inputs.mkdir()
    files = []
    for i in range(count):
        path = inputs / f"rec-{i}.wav"
        write_wav(path, 60.0, seed=i)
        files.append(path)
    size = files[0].stat().st_size
    copies = work / "copies"
    copies.mkdir()

    serial = [0]

    def fresh(path: Path) -> Path:
        # Every method writes new files, as the vault does (a new random blob name each time).
        serial[0] += 1
        return copies / f"{path.stem}-{serial[0]}.wav"

    def plain_copy() -> None:
        for path in files:
            with path.open("rb") as src, fresh(path).open("wb") as dst:
                shutil.copyfileobj(src, dst, MB)

    def durable_copy() -> None:
        for path in files:
            target = fresh(path)
            tmp = copies / f".{target.name}.tmp"
            with path.open("rb") as src, tmp.open("wb") as dst:
                shutil.copyfileobj(src, dst, MB)
                dst.flush()
                os.fsync(dst.fileno())
            os.replace(tmp, target)
            fd = os.open(copies, os.O_RDONLY)
            os.fsync(fd)
            os.close(fd)

    def vault_store() -> None:
        for path in files:
            with transaction(runtime.sessions) as session:
                store_artifact(
                    session,
                    runtime,
                    uuid.uuid4(),
                    "original",
                    iter_file(path),
                    "audio/wav",
                    expires_at=START + timedelta(days=90),  # as ingest: wrapped in its key epoch
                )

    round_no = [0]

    def full_ingest() -> None:
        round_no[0] += 1
        for i, path in enumerate(files):
            ingest_file(runtime, path, f"bench-{round_no[0]}-{i}")

    methods = [
        ("plain copy (write, no fsync)", plain_copy),
        ("plain copy + fsync + rename", durable_copy),
        ("encrypt + store (vault)", vault_store),
        ("full ingest", full_ingest),
    ]
    # One untimed pass of each warms the page cache, imports and the database; then the
    # methods take turns round by round, so a burst of load elsewhere hits them all alike.
    for _, run in methods:
        run()
    timings = [Timing(label) for label, _ in methods]
    for _ in range(rounds):
        for timing, (_, run) in zip(timings, methods, strict=True):
            timing.seconds.extend(time_it(timing.label, run, repeat=1).seconds)
    plain, durable = timings[0].median, timings[1].median
    rows = [
        (
            t.label,
            count / t.median,
            t.median / count * 1000,
            size * count / t.median / MB,
            ratio(t.median, plain),
            ratio(t.median, durable),
        )
        for t in timings
    ]
    print_table(
        f"Ingest throughput: {count} x 1-minute stereo 16 kHz WAV ({size / MB:.2f} MB each), "
        f"median of {rounds} rounds",
        ["what", "rec/s", "ms/rec", "MB/s", "vs plain copy", "vs copy+fsync"],
        rows,
    )
    runtime.engine.dispose()


def memory(work: Path, hours: float) -> None:
    data_dir, db_url = work / "mem-var", f"sqlite:///{work / 'mem.db'}"
    runtime = make_runtime(data_dir, db_url)
    prepare(runtime)
    runtime.engine.dispose()
    wav = work / "long.wav"
    started = time.perf_counter()
    write_wav(wav, hours * 3600, seed=7)
    made = time.perf_counter() - started
    child = subprocess.run(  # noqa: S603 (our own module, fixed arguments)
        [
            sys.executable,
            "-m",
            "benchmarks.ingest",
            "--memory-child",
            str(wav),
            "--data-dir",
            str(data_dir),
            "--database-url",
            db_url,
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    result = json.loads(child.stdout.strip().splitlines()[-1])
    print_table(
        f"Peak memory ingesting one {hours:g}-hour stereo 16 kHz recording "
        f"({wav.stat().st_size / MB:.0f} MB WAV, written in {made:.0f} s)",
        ["what", "MB"],
        [
            ("idle process (after imports and a warm-up ingest)", result["idle_mb"]),
            ("peak during the ingest (kernel VmHWM)", result["peak_hwm_mb"]),
            ("peak during the ingest (sampled every 10 ms)", result["peak_sampled_mb"]),
            ("peak above idle (target < 200)", result["above_idle_mb"]),
            ("ingest wall time, s", result["seconds"]),
        ],
    )


def memory_child(wav: Path, data_dir: Path, database_url: str) -> None:
    runtime = make_runtime(data_dir, database_url)
    warm = data_dir.parent / "warm.wav"
    write_wav(warm, 5.0, seed=1)
    ingest_file(runtime, warm, "warm-up")
    del warm
    gc.collect()
    hwm_reset = reset_peak_rss()
    idle = rss_mb()
    started = time.perf_counter()
    with RssSampler() as sampler:
        ingest_file(runtime, wav, "two-hours")
    seconds = time.perf_counter() - started
    hwm = peak_rss_mb() if hwm_reset else sampler.peak
    peak = max(hwm, sampler.peak)
    print(
        json.dumps(
            {
                "idle_mb": round(idle, 1),
                "peak_hwm_mb": round(hwm, 1),
                "peak_sampled_mb": round(sampler.peak, 1),
                "above_idle_mb": round(peak - idle, 1),
                "seconds": round(seconds, 1),
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=20, help="1-minute recordings per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--hours", type=float, default=2.0, help="length of the memory test call")
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument("--memory-child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--database-url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    _quiet()
    if args.memory_child:
        memory_child(args.memory_child, args.data_dir, args.database_url)
        return
    with tempfile.TemporaryDirectory(prefix="callvault-bench-") as tmp:
        work = Path(tmp)
        print(f"callvault ingest benchmark, {os.cpu_count()} CPUs, scratch {work}")
        if not args.skip_throughput:
            (work / "t").mkdir()
            throughput(work / "t", args.count, args.rounds)
        if not args.skip_memory:
            (work / "m").mkdir()
            memory(work / "m", args.hours)


def _quiet() -> None:
    import logging

    import structlog

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))


if __name__ == "__main__":
    main()
