"""Training library benchmarks: rendering a clip by seeking into an hour-long call, a mark's
re-render, and library search among 100,000 clips on PostgreSQL.

    python -m benchmarks.training [--minutes 60] [--clip 120] [--repeat 3]
    CALLVAULT_TEST_PG=postgresql://postgres@127.0.0.1:5432/test \
        python -m benchmarks.training --search [--clips 100000] [--iterations 300]

Render (SQLite, file blobs, the real vault): a synthetic 60-minute two-channel 8 kHz call is
stored as the recording's pseudonymised variant (FLAC under the segmented AES-GCM envelope),
with a word every half second in its transcript. A 2-minute clip is cut through the same
`cut_clip` the API calls (seek, decode, mask, encode FLAC, encrypt under its own data key,
transcript excerpt, search terms); the table says how many 64 KiB segments were decrypted of
how many the call has. Then a mark is added, which renders the clip again. Targets: <= 2 s and
<= 1 s.

Search (PostgreSQL): 100,000 recordings and one clip each (90 % approved, 1-3 tags, about 150
distinct words per clip drawn from a 5,000-word vocabulary, Zipf-like, as keyed hashes) are
bulk-loaded with COPY; queries go through `library.search_clips` as a training manager with
one training grant covering everything. Target: p95 < 150 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from benchmarks.common import print_table, throwaway_database
from callvault.clock import FixedClock
from callvault.config import Settings
from callvault.db import make_engine, make_sessionmaker, migrate, transaction
from callvault.runtime import Runtime, set_runtime

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
RATE = 8000
TAGS = ("uppsägning", "arg kund", "tekniskt fel", "faktura", "klagomål", "bra bemötande")
TEAMS = [f"team-{n:02d}" for n in range(20)]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def build_runtime(url: str, data_dir: Path) -> Runtime:
    settings = Settings(
        env="test", data_dir=data_dir, database_url=url, secret_key=secrets.token_urlsafe(48)
    )
    engine = make_engine(url)
    migrate(engine)
    runtime = Runtime(settings, engine, make_sessionmaker(engine), FixedClock(NOW))
    runtime.keyring.ensure()
    set_runtime(runtime)
    return runtime


def seed_people(runtime: Runtime) -> tuple[Any, Any, Any]:
    """Policy version 1, the DPO, and two training managers with a training grant on all."""
    from callvault.access.models import AccessGrant
    from callvault.accounts.auth import Principal
    from callvault.accounts.models import Account
    from callvault.policy.models import PolicyPurpose, PolicyVersion

    with transaction(runtime.sessions) as session:
        version = PolicyVersion(
            number=1,
            effective_from=NOW - timedelta(days=365),
            approved_by=None,
            change_note="benchmark",
            text_sv="-",
            text_en="-",
            prompt_sv="-",
            prompt_en="-",
            created_at=NOW - timedelta(days=365),
        )
        for code, variants in (
            ("training", ["pseudonymised"]),
            ("quality_assurance", ["pseudonymised", "original"]),
        ):
            version.purposes.append(
                PolicyPurpose(
                    code=code,
                    description_sv=code,
                    description_en=code,
                    retention_days=90,
                    variants=variants,
                )
            )
        people = [
            Account(
                email=f"{n}@bench.example.org",
                role=role,
                password_hash="!",  # noqa: S106 (these accounts never sign in)
                password_changed_at=NOW,
                created_at=NOW,
                created_by="cli",
            )
            for n, role in enumerate(("dpo", "training_manager", "training_manager"))
        ]
        session.add_all([version, *people])
        session.flush()
        for person in people[1:]:
            session.add(
                AccessGrant(
                    grantee_id=person.id,
                    granted_by=people[0].id,
                    purpose_code="training",
                    policy_version_id=version.id,
                    variant="pseudonymised",
                    scope_kind="all",
                    valid_from=NOW - timedelta(days=1),
                    valid_until=NOW + timedelta(days=60),
                    allows_download=False,
                    created_at=NOW,
                )
            )
        principals = [
            Principal(kind="account", id=p.id, role=p.role, session_id=None) for p in people
        ]
        return version.id, principals[1], principals[2]


# --- render -------------------------------------------------------------------------------------


def long_call_flac(minutes: int) -> tuple[Path, float]:
    """A speech-like two-channel call (tones under noise, bursts and pauses), written to a
    temporary FLAC file block by block so the hour never sits in memory as float samples."""
    rng = np.random.default_rng(3)
    path = Path(tempfile.mkstemp(suffix=".flac")[1])
    block = 10 * RATE
    with sf.SoundFile(path, "w", RATE, 2, format="FLAC", subtype="PCM_16") as out:
        for n in range(minutes * 6):
            t = (np.arange(block) + n * block) / RATE
            voice = 0.2 * np.sin(2 * np.pi * (180 + 40 * np.sin(t)) * t)
            gate = (np.sin(2 * np.pi * 0.3 * t + n) > -0.2).astype(np.float32)
            noise = rng.normal(0, 0.02, (block, 2))
            out.write((voice * gate)[:, None] * np.array([1.0, 0.6]) + noise)
    return path, minutes * 60.0


def transcript(seconds: float) -> dict[str, Any]:
    rng = random.Random(5)  # noqa: S311 (synthetic)
    words = [
        {"text": f"ord{rng.randrange(5000)}", "start": i * 0.5, "end": i * 0.5 + 0.4}
        for i in range(int(seconds * 2) - 1)
    ]
    return {
        "format": "callvault.transcript/1",
        "language": "sv",
        "pseudonymised": True,
        "channels": [
            {"channel": 0, "role": "agent", "text": "", "words": []},
            {"channel": 1, "role": "customer", "text": "", "words": words},
        ],
    }


def render_benchmark(minutes: int, clip_s: float, repeat: int) -> list[list[object]]:
    from callvault.recordings.models import Recording, RecordingPurpose
    from callvault.training import service
    from callvault.training.render import render_clip
    from callvault.vault import envelope
    from callvault.vault.models import Artifact
    from callvault.vault.service import store_artifact

    rows: list[list[object]] = []
    with tempfile.TemporaryDirectory() as tmp:
        runtime = build_runtime(f"sqlite:///{tmp}/bench.db", Path(tmp) / "var")
        version_id, author, reviewer = seed_people(runtime)
        flac, seconds = long_call_flac(minutes)
        try:
            with transaction(runtime.sessions) as session:
                recording = Recording(
                    call_id="bench-call",
                    agent_id="agent-1",
                    team="team-01",
                    started_at=NOW - timedelta(days=1),
                    ended_at=NOW - timedelta(days=1),
                    duration_s=seconds,
                    sample_rate=RATE,
                    channel_layout=["agent", "customer"],
                    language="sv",
                    policy_version_id=version_id,
                    content_sha256="0" * 64,
                    expires_at=NOW + timedelta(days=60),
                    state="ready",
                    created_at=NOW,
                )
                recording.purposes = [RecordingPurpose(purpose_code="training")]
                session.add(recording)
                session.flush()
                with flac.open("rb") as handle:
                    chunks = iter(lambda: handle.read(1 << 20), b"")
                    audio = store_artifact(
                        session, runtime, recording.id, "pseudonymised_audio", chunks, "audio/flac"
                    )
                body = json.dumps(transcript(seconds)).encode()
                store_artifact(
                    session,
                    runtime,
                    recording.id,
                    "pseudonymised_transcript",
                    [body],
                    "application/json",
                )
                total_segments = envelope.segment_count(audio.plain_size, audio.segment_size)
                size_mb = audio.plain_size / 1e6
                rid = recording.id
        finally:
            flac.unlink()
        cut_times, mark_times, segments = [], [], []
        for n in range(repeat):
            start = 45 * 60.0 * minutes / 60 - n * 300 if minutes >= 60 else 10.0 + n
            with transaction(runtime.sessions) as session:
                began = time.perf_counter()
                clip = service.cut_clip(
                    session,
                    runtime,
                    author,
                    recording_id=rid,
                    start=start,
                    end=start + clip_s,
                    title=f"Bench {n}",
                    tags=["faktura"],
                    lesson="Benchmark.",
                )
                cut_times.append(time.perf_counter() - began)
                clip_id = clip.id
            with transaction(runtime.sessions) as session:
                clip = session.get(service.TrainingClip, clip_id)
                assert clip is not None
                stats = render_clip(session, runtime, clip)
                segments.append(stats.segments_read)
                session.rollback()
            with transaction(runtime.sessions) as session:
                began = time.perf_counter()
                service.add_marks(session, runtime, reviewer, clip_id, [(30.0, 33.0)])
                mark_times.append(time.perf_counter() - began)
            with transaction(runtime.sessions) as session:
                own = session.query(Artifact).filter(Artifact.owner_id == clip_id).count()
                assert own == 2
        rows.append(
            [
                f"cut a {clip_s:.0f} s clip of a {minutes} min call",
                statistics.median(cut_times),
                min(cut_times),
                2.0,
            ]
        )
        rows.append(
            ["a mark re-renders the clip", statistics.median(mark_times), min(mark_times), 1.0]
        )
        print(
            f"pseudonymised variant: {size_mb:.1f} MB FLAC in {total_segments} segments; "
            f"a clip decrypted {statistics.median(segments):.0f} of them"
        )
        runtime.engine.dispose()
    return rows


# --- search -------------------------------------------------------------------------------------


def load_clips(runtime: Runtime, version_id: uuid.UUID, author_id: uuid.UUID, count: int) -> None:
    """COPY `count` recordings and one clip each, with tags and keyed search terms."""
    from callvault.training.transcript import term_hasher

    rng = random.Random(11)  # noqa: S311 (synthetic)
    hasher = term_hasher(runtime.keyring)
    vocabulary = [hasher(f"ord{n}") for n in range(5000)]
    weights = [1 / (n + 1) ** 0.8 for n in range(5000)]
    raw = runtime.engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute("DROP INDEX IF EXISTS ix_training_clip_search_terms")
        recordings, purposes, clips, tags, terms = [], [], [], [], []
        for n in range(count):
            rid = uuid.UUID(int=rng.getrandbits(128), version=4)
            cid = uuid.UUID(int=rng.getrandbits(128), version=4)
            started = NOW - timedelta(seconds=rng.randrange(85 * 86400))
            team = TEAMS[n % len(TEAMS)]
            recordings.append(
                (
                    rid,
                    f"call-{n}",
                    f"agent-{n % 200}",
                    team,
                    started,
                    started + timedelta(minutes=5),
                    300.0,
                    8000,
                    '["agent","customer"]',
                    "sv",
                    version_id,
                    "0" * 64,
                    started + timedelta(days=90),
                    "ready",
                    started,
                )
            )
            purposes.append((rid, "training"))
            words = set(rng.choices(vocabulary, weights, k=220))
            state = "approved" if rng.random() < 0.9 else "draft"
            clips.append(
                (
                    cid,
                    rid,
                    author_id,
                    10.0,
                    130.0,
                    f"Klipp {n}",
                    "Lektion",
                    state,
                    1,
                    team,
                    started,
                    started,
                    started,
                )
            )
            terms.append((cid, " ".join(sorted(words))))
            for tag in rng.sample(TAGS, rng.randint(1, 3)):
                tags.append((cid, tag))
        with cur.copy(
            "COPY recordings (id, call_id, agent_id, team, started_at, ended_at, duration_s, "
            "sample_rate, channel_layout, language, policy_version_id, content_sha256, "
            "expires_at, state, created_at) FROM STDIN"
        ) as copy:
            for row in recordings:
                copy.write_row(row)
        with cur.copy("COPY recording_purposes (recording_id, purpose_code) FROM STDIN") as copy:
            for row in purposes:
                copy.write_row(row)
        with cur.copy(
            "COPY training_clips (id, recording_id, author_id, start_s, end_s, title, lesson, "
            "state, version, team, recording_started_at, created_at, changed_at) "
            "FROM STDIN"
        ) as copy:
            for row in clips:
                copy.write_row(row)
        with cur.copy("COPY training_clip_tags (clip_id, tag_code) FROM STDIN") as copy:
            for row in tags:
                copy.write_row(row)
        with cur.copy("COPY training_clip_search (clip_id, terms) FROM STDIN") as copy:
            for row in terms:
                copy.write_row(row)
        cur.execute(
            "CREATE INDEX ix_training_clip_search_terms ON training_clip_search USING gin (terms)"
        )
        tables = (
            "recordings",
            "recording_purposes",
            "training_clips",
            "training_clip_tags",
            "training_clip_search",
        )
        for table in tables:
            cur.execute(f"ANALYZE {table}")
        raw.commit()
    finally:
        raw.close()


def search_benchmark(url: str, count: int, iterations: int) -> list[list[object]]:
    from callvault.training.library import ClipQuery, search_clips

    rows: list[list[object]] = []
    with tempfile.TemporaryDirectory() as tmp:
        runtime = build_runtime(url, Path(tmp) / "var")
        version_id, manager, _ = seed_people(runtime)
        began = time.perf_counter()
        load_clips(runtime, version_id, manager.id, count)
        print(f"loaded {count:,} recordings and clips in {time.perf_counter() - began:.0f} s")
        rng = random.Random(7)  # noqa: S311 (synthetic)
        queries = {
            "approved, newest 50": lambda: ClipQuery(state="approved"),
            "approved + tag": lambda: ClipQuery(state="approved", tag=rng.choice(TAGS)),
            "approved + common word": lambda: ClipQuery(
                state="approved", q=f"ord{rng.randrange(20)}"
            ),
            "approved + rare word": lambda: ClipQuery(
                state="approved", q=f"ord{rng.randrange(2000, 5000)}"
            ),
            "approved + two words + tag": lambda: ClipQuery(
                state="approved",
                q=f"ord{rng.randrange(50)} ord{rng.randrange(200, 800)}",
                tag=rng.choice(TAGS),
            ),
            "team + 7 days": lambda: ClipQuery(
                state="approved",
                team=rng.choice(TEAMS),
                started_from=NOW - timedelta(days=rng.randrange(8, 80)),
                started_until=NOW - timedelta(days=rng.randrange(1, 8)),
            ),
        }
        all_times: list[float] = []
        for label, make in queries.items():
            times = []
            for _ in range(max(1, iterations // len(queries))):
                query = make()
                with runtime.sessions() as session:
                    start = time.perf_counter()
                    found = search_clips(session, runtime, manager, query)
                    times.append((time.perf_counter() - start) * 1000)
                    assert len(found) <= 50
            all_times += times
            rows.append(
                [label, statistics.median(times), percentile(times, 95), percentile(times, 99)]
            )
        rows.append(
            [
                "all queries",
                statistics.median(all_times),
                percentile(all_times, 95),
                percentile(all_times, 99),
            ]
        )
        runtime.engine.dispose()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=int, default=60)
    parser.add_argument("--clip", type=float, default=120.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--search", action="store_true", help="the PostgreSQL search benchmark")
    parser.add_argument("--clips", type=int, default=100_000)
    parser.add_argument("--iterations", type=int, default=300)
    parser.add_argument("--url", default=os.environ.get("CALLVAULT_TEST_PG"))
    args = parser.parse_args()
    from callvault.log import configure_logging

    configure_logging("WARNING")
    if args.search:
        if not args.url:
            raise SystemExit("the search benchmark needs CALLVAULT_TEST_PG (or --url)")
        with throwaway_database(args.url, "training") as url:
            rows = search_benchmark(url, args.clips, args.iterations)
        print_table(
            f"Library search, {args.clips:,} clips (ms)", ["query", "p50", "p95", "p99"], rows
        )
        return
    rows = render_benchmark(args.minutes, args.clip, args.repeat)
    print_table("Clip rendering (s)", ["step", "median", "best", "target"], rows)


if __name__ == "__main__":
    main()
