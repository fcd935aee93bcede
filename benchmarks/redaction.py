"""Redaction benchmark: redact a corpus with `callvault redact`'s code path, score it, time it.

    python -m benchmarks.redaction --corpus ../shared/corpus/sv-calls-dev [--calls dev-000,dev-001]

Times the pipeline against bare faster-whisper transcription of the same audio in the same run
(the same loaded model, threads and decoding options; no VAD, no word timestamps, no prompt).
Scores with ../shared/bench/score_redaction.py. Never reads *.truth.json itself.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from callvault.config import Settings
from callvault.redaction.asr import FasterWhisperRecogniser, shared_recogniser
from callvault.redaction.audio import channel_for_asr, decode_audio
from callvault.redaction.files import redact_file

SCORER = Path(__file__).resolve().parents[1] / ".." / "shared" / "bench" / "score_redaction.py"


def bare_transcription_s(recogniser: FasterWhisperRecogniser, path: Path, language: str) -> float:
    audio = decode_audio(path.read_bytes())
    opts = recogniser.options
    started = time.perf_counter()
    for ch in range(audio.channels):
        segments, _ = recogniser.model.transcribe(
            channel_for_asr(audio, ch),
            language=language,
            beam_size=opts.beam_size,
            temperature=[opts.temperature],
            condition_on_previous_text=False,
        )
        for _ in segments:
            pass
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--corpus", required=True, type=Path)
    ap.add_argument("--out", type=Path, help="where redacted audio goes (default: a temp dir)")
    ap.add_argument("--calls", help="comma-separated call ids (default: all)")
    ap.add_argument("--no-bare", action="store_true", help="skip the bare-transcription timing")
    ap.add_argument("--json", type=Path, help="write the figures here")
    args = ap.parse_args(argv)

    settings = Settings()
    metas = sorted(args.corpus.glob("*.meta.json"))
    if args.calls:
        wanted = set(args.calls.split(","))
        metas = [m for m in metas if m.name.split(".")[0] in wanted]
    if not metas:
        print(f"no *.meta.json in {args.corpus}", file=sys.stderr)
        return 2
    out = args.out or Path(tempfile.mkdtemp(prefix="redaction-bench-"))
    loaded = time.perf_counter()
    recogniser = shared_recogniser(settings)
    load_s = time.perf_counter() - loaded
    assert isinstance(recogniser, FasterWhisperRecogniser)

    audio_s = pipeline_s = bare_s = 0.0
    for meta in metas:
        call = meta.name.split(".")[0]
        source = args.corpus / f"{call}.flac"
        started = time.perf_counter()
        result = redact_file(source, meta, out / f"{call}.wav", settings=settings)
        took = time.perf_counter() - started
        pipeline_s += took
        audio_s += result.audio.duration_s
        line = f"{call}: {result.audio.duration_s:5.1f}s audio, pipeline {took:5.2f}s"
        if not args.no_bare:
            language = json.loads(meta.read_text("utf-8")).get("language", "sv")
            bare = bare_transcription_s(recogniser, source, language)
            bare_s += bare
            line += f", bare {bare:5.2f}s"
        print(line, file=sys.stderr, flush=True)

    scored = subprocess.run(  # noqa: S603  (our interpreter, the shared scorer)
        [sys.executable, str(SCORER), "--corpus", str(args.corpus), "--redacted", str(out)],
        capture_output=True,
        text=True,
        check=True,
    )
    lines = scored.stdout.strip().splitlines()
    if args.calls:  # the scorer counts calls we skipped as fully leaked; show it as it is
        print("(subset run: the scorer counts the calls not run as missing)")
    print("\n".join(lines))
    figures = {
        "corpus": str(args.corpus),
        "calls": len(metas),
        "audio_s": round(audio_s, 1),
        "model_load_s": round(load_s, 2),
        "pipeline_s": round(pipeline_s, 1),
        "realtime_factor": round(audio_s / pipeline_s, 2),
        "bare_s": round(bare_s, 1) if bare_s else None,
        "pipeline_over_bare": round(pipeline_s / bare_s, 2) if bare_s else None,
        "score": lines[-1],
        "threads": settings.asr_threads,
        "compute_type": settings.asr_compute_type,
    }
    print(
        f"speed: {figures['realtime_factor']}x real time "
        f"({audio_s:.0f}s audio in {pipeline_s:.0f}s, model load {load_s:.1f}s); "
        + (
            f"pipeline/bare transcription = {figures['pipeline_over_bare']} (bare {bare_s:.0f}s)"
            if bare_s
            else "bare not timed"
        )
    )
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
