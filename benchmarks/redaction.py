"""Redaction benchmark: redact a corpus with `callvault redact`'s code path, score it, time it.

    python -m benchmarks.redaction --corpus ../shared/corpus/sv-calls-dev [--calls dev-000,dev-001]

Times the pipeline against bare faster-whisper transcription of the same audio in the same run
(the same loaded model, threads and decoding options; no VAD, no word timestamps, no prompt).
Scores with ../shared/bench/score_redaction.py. Never reads *.truth.json itself.

`--cache DIR` keeps what the recogniser heard per call and channel: a first run fills it, later
runs replay it, so detection and masking rules can be iterated on without re-running speech
recognition. A replayed run's timings mean nothing and are not printed as speed figures.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from callvault.config import Settings
from callvault.redaction.asr import (
    FasterWhisperRecogniser,
    Recogniser,
    Recognition,
    Word,
    shared_recogniser,
)
from callvault.redaction.audio import Samples, channel_for_asr, decode_audio
from callvault.redaction.files import redact_file

SCORER = Path(__file__).resolve().parents[1] / ".." / "shared" / "bench" / "score_redaction.py"


class CachedRecogniser:
    """Replays what `inner` heard for the same call, channel audio and vocabulary, or records it."""

    def __init__(self, inner: Recogniser, directory: Path) -> None:
        self.inner = inner
        self.directory = directory
        self.call = ""
        self.replayed = 0

    def recognise(
        self, samples: Samples, *, language: str, vocabulary: Sequence[str]
    ) -> Recognition:
        digest = hashlib.sha256(samples.tobytes())
        digest.update(json.dumps([language, list(vocabulary)]).encode())
        path = self.directory / f"{self.call}.{digest.hexdigest()[:16]}.json"
        if path.exists():
            data = json.loads(path.read_text("utf-8"))
            self.replayed += 1
            return Recognition(
                tuple(Word(*w) for w in data["words"]),
                tuple((a, b) for a, b in data["speech"]),
            )
        heard = self.inner.recognise(samples, language=language, vocabulary=vocabulary)
        words = [[w.text, w.start, w.end, w.probability] for w in heard.words]
        path.write_text(json.dumps({"words": words, "speech": heard.speech}), "utf-8")
        return heard


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
    ap.add_argument("--cache", type=Path, help="record/replay what the recogniser heard here")
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
    cached = None
    if args.cache:
        args.cache.mkdir(parents=True, exist_ok=True)
        cached = CachedRecogniser(recogniser, args.cache)

    audio_s = pipeline_s = bare_s = 0.0
    for meta in metas:
        call = meta.name.split(".")[0]
        source = args.corpus / f"{call}.flac"
        started = time.perf_counter()
        if cached is not None:
            cached.call = call
        result = redact_file(
            source, meta, out / f"{call}.wav", settings=settings, recogniser=cached
        )
        took = time.perf_counter() - started
        pipeline_s += took
        audio_s += result.audio.duration_s
        line = f"{call}: {result.audio.duration_s:5.1f}s audio, pipeline {took:5.2f}s"
        if not args.no_bare and not (cached and cached.replayed):
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
    if cached is not None and cached.replayed:
        print(f"replayed {cached.replayed} cached recognitions: no speed figures")
        figures["realtime_factor"] = figures["pipeline_over_bare"] = None
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
