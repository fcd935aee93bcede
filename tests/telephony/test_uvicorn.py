"""The webhooks under a real uvicorn server on 127.0.0.1, signed over its public URL."""

from __future__ import annotations

import asyncio

import pytest
from benchmarks.webhooks import run_calls, webhook_server

from tests.conftest import PG_URL


@pytest.mark.slow
def test_twenty_concurrent_calls_under_uvicorn() -> None:
    with webhook_server("postgresql" if PG_URL else "sqlite") as base:
        caller = asyncio.run(run_calls(base, 20, 0.5, (0.1, 0.3), seed=3))
    assert caller.errors == 0, caller.error_kinds
    assert len(caller.latencies["voice"]) == 20
    assert len(caller.latencies["consent"]) >= 20
