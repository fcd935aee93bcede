"""Verifying a long chain in several processes: each walks a range of sequence numbers, and the
ranges are stitched together (seq continuity and hash links at every boundary)."""

from __future__ import annotations

import multiprocessing
import queue
from collections.abc import Callable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from callvault.audit.chain import GENESIS_HASH
from callvault.db import make_engine

PARALLEL_MIN_ENTRIES = 100_000
MAX_WORKERS = 4

CheckpointHashes = dict[int, list[tuple[str, datetime]]]


def ranges(last_seq: int, workers: int) -> list[tuple[int, int]]:
    """Split 1..last_seq into `workers` contiguous ranges."""
    size = -(-last_seq // workers)
    return [(lo, min(lo + size - 1, last_seq)) for lo in range(1, last_seq + 1, size)]


def walk_in_parallel(
    connection: sa.Connection,
    report: Any,
    checkpoint_hashes: CheckpointHashes,
    last_seq: int,
    workers: int,
    on_progress: Callable[[int], None] | None,
    batch_size: int,
) -> None:
    """Fill `report` as `_walk_entries` would, using `workers` processes."""
    from callvault.audit.verify import VerifyReport

    url = connection.engine.url.render_as_string(hide_password=False)
    context = multiprocessing.get_context("fork")
    # One queue for progress and results, so a worker's progress always arrives before its end.
    messages: Any = context.Queue()
    parts = ranges(last_seq, workers)
    processes = [
        context.Process(
            target=_walk_range,
            args=(url, index, lo, hi, checkpoint_hashes, batch_size, messages),
            daemon=True,
        )
        for index, (lo, hi) in enumerate(parts)
    ]
    for process in processes:
        process.start()
    found: dict[int, VerifyReport] = {}
    try:
        while len(found) < len(parts):
            try:
                index, part = messages.get(timeout=0.5)
            except queue.Empty:
                if not any(p.is_alive() for p in processes):
                    raise RuntimeError("an audit verification worker died") from None
                continue
            if isinstance(part, int):
                if on_progress is not None:
                    on_progress(part)
            elif isinstance(part, str):
                raise RuntimeError(f"audit verification worker failed: {part}")
            else:
                found[index] = part
    finally:
        for process in processes:
            process.join(timeout=5)
            if process.is_alive():
                process.kill()
    _stitch(report, [found[i] for i in range(len(parts))])


def _walk_range(
    url: str,
    index: int,
    lo: int,
    hi: int,
    checkpoint_hashes: CheckpointHashes,
    batch_size: int,
    messages: Any,
) -> None:
    from callvault.audit.verify import VerifyReport, _walk_entries

    try:
        engine = make_engine(url, poolclass=NullPool)
        with engine.connect() as connection:
            part = VerifyReport()
            _walk_entries(
                connection,
                part,
                checkpoint_hashes,
                lambda n: messages.put((index, n)),
                batch_size,
                start=lo,
                prev_hash=None,
                stop=hi,
            )
            connection.rollback()
        messages.put((index, part))
    except BaseException as exc:  # reported to the parent, which raises
        messages.put((index, f"{type(exc).__name__}: {exc}"))


def _stitch(report: Any, parts: list[Any]) -> None:
    from callvault.audit.verify import missing_message

    last_seq, last_hash = 0, GENESIS_HASH
    for part in parts:
        if part.entries == 0:
            continue
        if part.first_seq != last_seq + 1:
            report.add(
                "missing",
                last_seq + 1,
                missing_message(last_seq + 1, part.first_seq - 1),
            )
        elif part.first_prev != last_hash:
            report.add(
                "broken_link",
                part.first_seq,
                f"entry {part.first_seq} does not follow entry {last_seq} "
                "(an entry was altered, removed or moved)",
            )
        report.entries += part.entries
        report.problem_count += part.problem_count - len(part.problems)
        for problem in part.problems:
            report.add(problem.kind, problem.seq, problem.message)
        last_seq, last_hash = part.last_seq, part.last_hash
    report.last_seq, report.last_hash = last_seq, last_hash
