"""IVR webhook latency: 200 concurrent simulated calls against the app under uvicorn on loopback.

    python -m benchmarks.webhooks [--calls 200] [--ramp 10] [--listen 10 20]
                                  [--backend sqlite|postgresql] [--diagnose]

Each simulated call rings in (POST /voice) at a random moment within the ramp, listens to the
prompt for a random time within --listen, then answers (POST /consent): 70 % press 1, 20 %
press 2, 10 % stay silent twice. With the defaults all 200 calls are in progress at once (the
last rings before the first answers). Every request is signed exactly as Twilio signs it.
Latency is measured by the client (an asyncio httpx client in this process; the server runs in
its own process) and reported as p50/p99 per endpoint, for that run and for a burst in which
all calls ring and answer at the same instant (a worst case no real line produces).
PostgreSQL is used when --backend postgresql and CALLVAULT_TEST_PG names a server (a scratch
database is created and dropped).

--diagnose says where a stall comes from, without touching callvault's code: the server samples
its connection pool (how often every connection was checked out, so requests queue for one) and
times every garbage-collector pass; on PostgreSQL the client samples pg_stat_activity of the
scratch database (what the server's backends wait on: a row lock such as the audit chain's
head, WAL fsync at commit, or the client, i.e. Python).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from twilio.request_validator import RequestValidator

from benchmarks.common import throwaway_database

TOKEN = "bench-auth-token-" + "5" * 16
ACCOUNT = "AC" + "b" * 32
TARGET_P99_MS = 50.0


def serve() -> None:
    """The server process: schema, keys and policy version 1, then uvicorn (env configures)."""
    import uvicorn

    from callvault.app import create_app
    from callvault.config import Settings
    from callvault.db import load_models, transaction
    from callvault.log import configure_logging
    from callvault.policy.service import ensure_first_version
    from callvault.runtime import Runtime, settle_garbage_collector

    configure_logging("WARNING")
    runtime = Runtime.from_settings(Settings())
    load_models().create_all(runtime.engine)
    runtime.keyring.ensure()
    with transaction(runtime.sessions) as session:
        ensure_first_version(session, runtime)
    port = int(os.environ["BENCH_PORT"])
    app = create_app(runtime)
    settle_garbage_collector()  # as `callvault serve` does
    if os.environ.get("BENCH_DIAGNOSE"):  # after start-up: its own collection is not a stall
        _diagnose_server(runtime, Path(os.environ["BENCH_DIAGNOSE"]))
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
        timeout_keep_alive=120,  # callers listen longer than uvicorn's 5 s default
    )


def _diagnose_server(runtime: object, out: Path) -> None:
    """Sample the pool every 2 ms and time GC passes; write a summary when the server stops."""
    import json
    import threading

    engine = runtime.engine  # type: ignore[attr-defined]
    pool = engine.pool
    limit = pool.size() + max(pool._max_overflow, 0) if hasattr(pool, "size") else 0
    samples = {"total": 0, "exhausted": 0, "busy": 0, "connects": 0}

    def on_connect(*_: object) -> None:
        samples["connects"] += 1  # a new database connection: overflow churn if many

    import sqlalchemy as sa

    sa.event.listen(engine, "connect", on_connect)
    pauses: list[float] = []
    by_generation: dict[int, float] = {}
    started: list[float] = []

    def sample() -> None:
        last_write = time.monotonic()
        while True:
            time.sleep(0.002)
            if time.monotonic() - last_write > 0.5:  # the server is killed, not asked to stop
                write()
                last_write = time.monotonic()
            out_now = pool.checkedout() if hasattr(pool, "checkedout") else 0
            samples["total"] += 1
            samples["busy"] += out_now
            if limit and out_now >= limit:
                samples["exhausted"] += 1

    def on_gc(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started.append(time.perf_counter())
        elif started:
            pause = (time.perf_counter() - started.pop()) * 1000
            pauses.append(pause)
            generation = info.get("generation", -1)
            by_generation[generation] = max(by_generation.get(generation, 0.0), pause)

    def write() -> None:
        total = max(samples["total"], 1)
        out.write_text(
            json.dumps(
                {
                    "pool_limit": limit,
                    "pool_exhausted_share": samples["exhausted"] / total,
                    "pool_mean_checked_out": samples["busy"] / total,
                    "connections_opened": samples["connects"],
                    "gc_passes": len(pauses),
                    "gc_max_ms": max(pauses, default=0.0),
                    "gc_over_10ms": sum(1 for p in pauses if p > 10),
                    "gc_max_ms_by_generation": by_generation,
                }
            )
        )

    threading.Thread(target=sample, daemon=True).start()
    gc.callbacks.append(on_gc)


class WaitSampler:
    """Polls pg_stat_activity of one database every 5 ms: what its busy backends wait on."""

    def __init__(self, url: str) -> None:
        import threading

        import sqlalchemy as sa

        self.engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
        self.name = self.engine.url.database
        self.counts: Counter[str] = Counter()
        self.samples = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        import sqlalchemy as sa

        query = sa.text(
            "SELECT coalesce(wait_event_type || ':' || wait_event, 'cpu') FROM pg_stat_activity "
            "WHERE datname = :db AND pid <> pg_backend_pid() AND state <> 'idle'"
        )
        with self.engine.connect() as conn:
            while not self.stop.is_set():
                self.samples += 1
                for (event,) in conn.execute(query, {"db": self.name}):
                    self.counts[event] += 1
                conn.commit()
                time.sleep(0.005)

    def __enter__(self) -> WaitSampler:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        self.thread.join()
        self.engine.dispose()

    def report(self) -> None:
        print(f"\n  PostgreSQL backends of the run, {self.samples} samples (busy backend-samples):")
        for event, count in self.counts.most_common(8):
            print(f"    {event:<40} {count:>6}")


class Caller:
    """Signs and posts webhooks as the provider would, recording each latency."""

    def __init__(self, client: httpx.AsyncClient, base: str) -> None:
        self.client = client
        self.base = base
        self.validator = RequestValidator(TOKEN)
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.errors = 0
        self.error_kinds: Counter[str] = Counter()

    async def post(self, path: str, fields: dict[str, str]) -> None:
        signature = self.validator.compute_signature(self.base + path, fields)
        start = time.perf_counter()
        response = await self.client.post(
            path, data=fields, headers={"X-Twilio-Signature": signature}
        )
        elapsed = (time.perf_counter() - start) * 1000
        if response.status_code != 200:
            self.errors += 1
            self.error_kinds[f"{response.status_code} {response.text[:80]}"] += 1
        self.latencies[path.rsplit("/", 1)[-1]].append(elapsed)

    async def call(
        self, n: int, ramp: float, listen: tuple[float, float], rng: random.Random
    ) -> None:
        await asyncio.sleep(rng.uniform(0, ramp))
        sid = f"CA{uuid.uuid4().hex}"
        fields = {
            "AccountSid": ACCOUNT,
            "CallSid": sid,
            "From": f"+4670{n % 10_000_000:07d}",
            "To": "+46812345600",
            "CallStatus": "in-progress",
            "Direction": "inbound",
        }
        await self.post("/telephony/twilio/voice", fields)
        await asyncio.sleep(rng.uniform(*listen))
        choice = rng.random()
        if choice < 0.7:
            await self.post("/telephony/twilio/consent", {**fields, "Digits": "1"})
        elif choice < 0.9:
            await self.post("/telephony/twilio/consent", {**fields, "Digits": "2"})
        else:
            await self.post("/telephony/twilio/consent", fields)
            await asyncio.sleep(rng.uniform(*listen))
            await self.post("/telephony/twilio/consent", fields)


async def run_sequential(base: str, calls: int, seed: int) -> Caller:
    """One call at a time: the service time of a request without any queueing."""
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        caller = Caller(client, base)
        rng = random.Random(seed)  # noqa: S311 (simulated callers, not cryptography)
        for n in range(calls):
            await caller.call(n, 0.0, (0.0, 0.0), rng)
        return caller


async def run_calls(
    base: str, calls: int, ramp: float, listen: tuple[float, float], seed: int
) -> Caller:
    limits = httpx.Limits(max_connections=calls, max_keepalive_connections=calls)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as client:
        caller = Caller(client, base)
        rng = random.Random(seed)  # noqa: S311 (simulated callers, not cryptography)
        await asyncio.gather(*(caller.call(n, ramp, listen, rng) for n in range(calls)))
        return caller


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def report(title: str, caller: Caller, wall: float) -> bool:
    load = os.getloadavg()[0]
    print(f"\n{title} (wall {wall:.2f} s, errors {caller.errors}, load average {load:.1f})")
    for kind, count in caller.error_kinds.most_common(3):
        print(f"  error x{count}: {kind}")
    print(f"  {'endpoint':<10} {'requests':>8} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    ok = caller.errors == 0
    for name in ("voice", "consent"):
        values = caller.latencies[name]
        p50, p99 = statistics.median(values), percentile(values, 0.99)
        print(f"  {name:<10} {len(values):>8} {p50:>8.1f} {p99:>8.1f} {max(values):>8.1f}")
        ok = ok and p99 < TARGET_P99_MS
    return ok


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(port: int, process: subprocess.Popen[bytes], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit("the server process exited; run with --verbose to see why")
        try:
            # Our own server, not whatever else grabbed the port: it publishes policy version 1.
            answer = httpx.get(f"http://127.0.0.1:{port}/api/v1/policy/versions", timeout=2)
            if answer.status_code == 200 and answer.json()["versions"][0]["number"] == 1:
                return
        except (httpx.HTTPError, ValueError, KeyError, IndexError):
            pass
        time.sleep(0.2)
    raise SystemExit("the server did not start")


@contextmanager
def scratch_database(backend: str, workdir: Path) -> Iterator[str]:
    """A database URL for the server: a SQLite file in `workdir`, or a throwaway PostgreSQL one."""
    if backend == "sqlite":
        yield f"sqlite:///{workdir / 'bench.db'}"
        return
    admin_url = os.environ.get("CALLVAULT_TEST_PG")
    if not admin_url:
        raise SystemExit("--backend postgresql needs CALLVAULT_TEST_PG")
    with throwaway_database(admin_url, "webhooks") as url:
        yield url.replace("postgresql+psycopg://", "postgresql://")


@contextmanager
def webhook_server(
    backend: str = "sqlite", *, verbose: bool = False, diagnose: Path | None = None
) -> Iterator[str]:
    """callvault under uvicorn in its own process on a scratch database; yields its base URL."""
    with (
        tempfile.TemporaryDirectory(prefix="callvault-bench-") as tmp,
        scratch_database(backend, Path(tmp)) as database_url,
    ):
        workdir = Path(tmp)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        env = {
            **os.environ,
            "BENCH_PORT": str(port),
            "CALLVAULT_ENV": "development",
            "CALLVAULT_DATA_DIR": str(workdir / "var"),
            "CALLVAULT_DATABASE_URL": database_url,
            "CALLVAULT_QUEUE_URL": f"sqlite:///{workdir / 'queue.db'}",
            "CALLVAULT_EMBEDDED_WORKER": "false",
            "CALLVAULT_PUBLIC_URL": base,
            "CALLVAULT_SECRET_KEY": "bench-secret-" + "x" * 40,
            "CALLVAULT_TWILIO_ACCOUNT_SID": ACCOUNT,
            "CALLVAULT_TWILIO_AUTH_TOKEN": TOKEN,
            "CALLVAULT_AGENT_DESTINATION": "+46812345670",
        }
        if diagnose is not None:
            env["BENCH_DIAGNOSE"] = str(diagnose)
            env["BENCH_DATABASE_URL"] = database_url
            os.environ["BENCH_DATABASE_URL"] = database_url
        output = None if verbose else subprocess.DEVNULL
        server = subprocess.Popen(  # noqa: S603 (our own interpreter and module)
            [sys.executable, "-c", "from benchmarks.webhooks import serve; serve()"],
            env=env,
            stdout=output,
            stderr=output,
        )
        try:
            wait_for(port, server)
            yield base
        finally:
            server.terminate()
            server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--ramp", type=float, default=10.0, help="seconds over which calls ring")
    parser.add_argument(
        "--listen",
        type=float,
        nargs=2,
        default=(10.0, 20.0),
        help="seconds listening to the prompt",
    )
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--verbose", action="store_true")
    parser.add_argument("--diagnose", action="store_true", help="say where a stall comes from")
    args = parser.parse_args()

    diagnose = (
        Path(tempfile.mkdtemp(prefix="bench-diag-")) / "server.json" if args.diagnose else None
    )
    with webhook_server(args.backend, verbose=args.verbose, diagnose=diagnose) as base:
        print(f"callvault webhooks on {base}, {args.backend}, {os.cpu_count()} CPUs")
        asyncio.run(run_calls(base, 20, 0.0, (0.0, 0.0), args.seed))  # warm-up
        start = time.perf_counter()
        sequential = asyncio.run(run_sequential(base, 50, args.seed + 2))
        report("baseline: 50 calls one after another", sequential, time.perf_counter() - start)
        start = time.perf_counter()
        listen = (args.listen[0], args.listen[1])
        sampler = (
            WaitSampler(os.environ["BENCH_DATABASE_URL"])
            if args.diagnose and args.backend == "postgresql"
            else None
        )
        if sampler is not None:
            with sampler:
                realistic = asyncio.run(run_calls(base, args.calls, args.ramp, listen, args.seed))
        else:
            realistic = asyncio.run(run_calls(base, args.calls, args.ramp, listen, args.seed))
        ok = report(
            f"{args.calls} concurrent calls, ringing over {args.ramp:.0f} s, "
            f"listening {listen[0]:.0f}-{listen[1]:.0f} s",
            realistic,
            time.perf_counter() - start,
        )
        start = time.perf_counter()
        burst = asyncio.run(run_calls(base, args.calls, 0.0, (0.0, 0.0), args.seed + 1))
        report(
            f"burst: {args.calls} calls at once, no think time (worst case)",
            burst,
            time.perf_counter() - start,
        )
        if sampler is not None:
            sampler.report()
        verdict = "met" if ok else "NOT met"
        print(f"\ntarget p99 < {TARGET_P99_MS:.0f} ms for the first run: {verdict}")
    if diagnose is not None and diagnose.exists():
        print(f"server: {diagnose.read_text()}")


if __name__ == "__main__":
    main()
