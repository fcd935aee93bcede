"""What removed the webhook stalls: enough pooled connections for every worker thread, and full
garbage-collector passes made rare once start-up is frozen."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest
from sqlalchemy.pool import NullPool

from callvault.db import POOL_OVERFLOW, POOL_SIZE, make_engine
from callvault.runtime import GC_FULL_EVERY, settle_garbage_collector


def test_postgresql_pools_a_connection_per_worker_thread() -> None:
    engine = make_engine("postgresql://nobody@127.0.0.1:1/none")
    assert engine.pool.size() == POOL_SIZE == 20  # type: ignore[attr-defined]
    assert engine.pool._max_overflow == POOL_OVERFLOW  # type: ignore[attr-defined]
    # anyio runs sync routes on 40 threads: none of them waits for, or opens, a connection
    assert POOL_SIZE + POOL_OVERFLOW >= 40
    assert isinstance(
        make_engine("postgresql://x@127.0.0.1:1/y", poolclass=NullPool).pool, NullPool
    )


@pytest.fixture
def collector() -> Iterator[None]:
    before = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*before)


def test_start_up_is_frozen_and_full_passes_are_rare(collector: None) -> None:
    young, middle, _ = gc.get_threshold()
    settle_garbage_collector()
    assert gc.get_freeze_count() > 0
    assert gc.get_threshold() == (young, middle, GC_FULL_EVERY)
