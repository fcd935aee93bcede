"""Pseudonymisation memory benchmark: peak resident memory above idle for a long stereo call.

    python -m benchmarks.redaction_memory [--hours 4] [--rate 8000] [--real-minutes 0]

Builds a synthetic stereo call (tones in speech-like bursts with a little noise; no person's
voice) as FLAC written a minute at a time, ingests it into a throwaway data directory
(SQLite, local blobs, key file), then runs `pseudonymise_recording` on it in a fresh process.
That process first pseudonymises a 10-second call (imports, caches, the allocator's arenas),
then reads its idle RSS, resets the kernel's peak mark and runs the long call; the figure is
its peak RSS (kernel VmHWM, and a sampling thread as a second opinion) above that idle level.

Speech recognition is a stand-in on the Recogniser Protocol (`ToneRecogniser`): it reads
every sample it is given and "hears" a name every 30 seconds, so detection, decision and
masking have work to do across the whole call. The long-call figure is therefore callvault's
own handling of the audio (decrypt, decode, resample, mask, encode, encrypt), not Whisper's,
whose memory depends on the model and its settings. `--real-minutes N` also runs the real
faster-whisper model (Whisper base, CPU) on an N-minute call, the espeak fixture call tiled.

Before/after: run the same file against another source tree to measure older code the same
way, e.g. `PYTHONPATH=<checkout of the commit before the change>/src python -m
benchmarks.redaction_memory --hours 1` (only public functions that both have are used).

Figures (2-core shared machine, December 2026), peak RSS above idle:
  stand-in recogniser, 8 kHz stereo   0.5 h: 118 MB (before: 1,026 MB)
                                       2 h: 451 MB (before: 4,103 MB; 230 s, now 52 s)
                                       4 h: 891 MB (before: not run; about 8 GB by the trend)
  Whisper base (CPU), 16 kHz stereo    5 min: 237 MB (before: 268 MB)
                                      20 min: 265 MB (620 MB with ten-minute windows)
"""

from __future__ import annotations

import argparse
import gc
import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import soundfile as sf

from benchmarks.common import RssSampler, peak_rss_mb, print_table, reset_peak_rss, rss_mb
from benchmarks.ingest import make_runtime, meta_for, prepare

TARGET_MB = 1024.0
FIXTURE = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "redaction" / "call-sv.flac"


class ToneRecogniser:
    """A stand-in for Whisper on the Recogniser Protocol: it looks at every sample (the level
    of each 3-second stretch it would speak in) and hears "jag heter Maria" every 30 seconds
    where there is sound."""

    def recognise(self, samples: np.ndarray, *, language: str, vocabulary: Sequence[str]) -> object:
        from callvault.redaction.asr import Recognition, Word

        rate = 16000
        words: list[Word] = []
        speech: list[tuple[float, float]] = []
        for start in range(0, len(samples) // rate - 3, 30):
            stretch = samples[start * rate : (start + 3) * rate]
            if float(np.abs(stretch).mean()) > 0.005:
                words += [
                    Word("jag", start + 0.0, start + 0.3, 0.95),
                    Word("heter", start + 0.4, start + 0.8, 0.95),
                    Word("Maria", start + 0.9, start + 1.4, 0.9),
                ]
                speech.append((float(start), start + 1.5))
        return Recognition(tuple(words), tuple(speech))


def write_tone_call(path: Path, seconds: int, rate: int) -> None:
    """Agent and customer as tones in bursts (talk and pauses) over a little noise, int16."""
    rng = np.random.default_rng(7)
    with sf.SoundFile(path, "w", rate, 2, format="FLAC", subtype="PCM_16") as out:
        for minute in range(0, seconds, 60):
            n = min(60, seconds - minute) * rate
            t = (np.arange(n) / rate).astype(np.float32)
            talk = (np.sin(2 * np.pi * 0.2 * t) > 0).astype(np.float32)
            left = 0.3 * np.sin(2 * np.pi * 190 * t) * talk
            right = 0.25 * np.sin(2 * np.pi * 260 * t) * (1 - talk)
            noise = 0.01 * rng.standard_normal((n, 2)).astype(np.float32)
            block = np.stack([left, right], axis=1) + noise
            out.write((block.clip(-1, 1) * 32767).astype(np.int16))


def write_fixture_call(path: Path, seconds: int) -> None:
    """The espeak fixture call (synthetic voices), repeated to the length asked for."""
    call, rate = sf.read(FIXTURE, dtype="int16", always_2d=True)
    with sf.SoundFile(path, "w", rate, 2, format="FLAC", subtype="PCM_16") as out:
        left = seconds * rate
        while left > 0:
            out.write(call[:left])
            left -= min(left, len(call))


def ingest(runtime: object, path: Path, call_id: str) -> str:
    from callvault.db import transaction
    from callvault.recordings.service import IngestMetadata, ingest_recording
    from callvault.runtime import Runtime

    assert isinstance(runtime, Runtime)
    meta = meta_for(call_id)
    assert isinstance(meta, IngestMetadata)
    with transaction(runtime.sessions) as session, path.open("rb") as audio:
        result = ingest_recording(session, runtime, audio, meta, actor="system", source="cli")
    return str(result.id)


def measure(data_dir: Path, database_url: str, rid: str, warm_rid: str, real: bool) -> None:
    """In the child process: warm up, then the long call; prints one JSON line."""
    import uuid

    from callvault.db import load_models
    from callvault.redaction.asr import Recogniser, shared_recogniser
    from callvault.redaction.service import pseudonymise_recording

    load_models()
    runtime = make_runtime(data_dir, database_url)
    recogniser: Recogniser = (
        shared_recogniser(runtime.settings) if real else ToneRecogniser()  # type: ignore[assignment]
    )
    pseudonymise_recording(runtime, uuid.UUID(warm_rid), recogniser=recogniser)
    gc.collect()
    idle = rss_mb()
    reset_ok = reset_peak_rss()
    started = time.perf_counter()
    with RssSampler() as sampler:
        view = pseudonymise_recording(runtime, uuid.UUID(rid), recogniser=recogniser)
    took = time.perf_counter() - started
    print(
        json.dumps(
            {
                "idle_mb": idle,
                "peak_mb": max(peak_rss_mb() if reset_ok else 0.0, sampler.peak),
                "sampled_peak_mb": sampler.peak,
                "kernel_peak_reset": reset_ok,
                "seconds": took,
                "status": view.status,
                "spans": view.spans,
            }
        )
    )


def run_case(work: Path, label: str, seconds: int, rate: int, real: bool) -> list[object]:
    """Build, ingest and measure one call in its own data directory; one table row."""
    slug = "real" if real else "stand-in"
    data_dir = work / slug
    data_dir.mkdir()
    database_url = f"sqlite:///{data_dir / 'bench.db'}"
    runtime = make_runtime(data_dir, database_url)
    prepare(runtime)
    long_call, warm_call = work / f"{slug}.flac", work / f"{slug}-warm.flac"
    writer = (
        (lambda p, s: write_fixture_call(p, s))
        if real
        else (lambda p, s: write_tone_call(p, s, rate))
    )
    writer(long_call, seconds)
    writer(warm_call, 10)
    rid = ingest(runtime, long_call, f"bench-{slug}")
    warm_rid = ingest(runtime, warm_call, f"bench-{slug}-warm")
    size_mb = long_call.stat().st_size / 2**20
    long_call.unlink()
    runtime.engine.dispose()
    command = [sys.executable, "-m", "benchmarks.redaction_memory", "--child"]
    command += [str(data_dir), database_url, rid, warm_rid] + (["--real"] if real else [])
    done = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603 (our own module)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        sys.stderr.write(done.stderr[-4000:])
        raise SystemExit(f"the measuring process failed ({done.returncode})")
    figures = json.loads(lines[-1])
    above = figures["peak_mb"] - figures["idle_mb"]
    decoded_mb = seconds * (rate if not real else 16000) * 2 * 4 / 2**20
    return [
        label,
        f"{seconds / 3600:.2f} h",
        rate if not real else 16000,
        round(size_mb, 1),
        round(decoded_mb, 1),
        round(figures["seconds"], 1),
        round(figures["idle_mb"], 1),
        round(figures["peak_mb"], 1),
        round(above, 1),
        round(figures["sampled_peak_mb"] - figures["idle_mb"], 1),
        "yes" if above < TARGET_MB else "NO",
    ]


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=4.0)
    parser.add_argument("--rate", type=int, default=8000, help="sample rate of the long call")
    parser.add_argument("--real-minutes", type=float, default=0.0, help="real model, N minutes")
    parser.add_argument("--child", nargs=4, metavar=("DATA_DIR", "DB_URL", "RID", "WARM_RID"))
    parser.add_argument("--real", action="store_true")
    args = parser.parse_args(argv)
    if args.child:
        data_dir, database_url, rid, warm_rid = args.child
        measure(Path(data_dir), database_url, rid, warm_rid, args.real)
        return
    import callvault

    print(f"callvault from {Path(callvault.__file__).parent}")
    work = Path(tempfile.mkdtemp(prefix="callvault-redaction-memory-"))
    rows = []
    try:
        seconds = int(args.hours * 3600)
        rows.append(run_case(work, "stand-in ASR", seconds, args.rate, real=False))
        if args.real_minutes > 0:
            rows.append(run_case(work, "Whisper base", int(args.real_minutes * 60), 16000, True))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print_table(
        f"Pseudonymising one stereo call: peak RSS above idle (target < {TARGET_MB:.0f} MB)",
        [
            "recogniser",
            "length",
            "Hz",
            "FLAC MB",
            "decoded f32 MB",
            "run s",
            "idle MB",
            "peak MB",
            "above idle MB",
            "sampled above MB",
            "< 1 GB",
        ],
        rows,
    )


if __name__ == "__main__":
    main()
