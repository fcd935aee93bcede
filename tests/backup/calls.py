"""A world of its own for backup tests (own database, fixed clock) and the CLI steps they run."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from callvault.cli import app
from callvault.clock import FixedClock
from callvault.config import Settings
from callvault.db import make_engine, make_sessionmaker
from callvault.runtime import Runtime, set_runtime
from tests.recordings.synthetic import meta_doc, wav
from tests.schema import own_database

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday: B's epoch (its deletion week) is W10
NUMBERS = {"A": "+46701110001", "B": "+46702220002", "C": "+46703330003"}
STARTED = {
    "A": T0 - timedelta(hours=1),
    "B": T0 - timedelta(days=89, hours=23),
    "C": T0 - timedelta(hours=2),
}


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[Runtime, FixedClock]]:
    clock = FixedClock(T0 - timedelta(days=120))  # callvault was set up before the calls
    with own_database(tmp_path) as url:
        settings = Settings(
            env="test",
            data_dir=tmp_path / "var",
            database_url=url,
            secret_key=secrets.token_urlsafe(48),
        )
        engine = make_engine(url)
        runtime = Runtime(settings, engine, make_sessionmaker(engine), clock)
        set_runtime(runtime)
        try:
            yield runtime, clock
        finally:
            set_runtime(None)
            engine.dispose()


def cli(*args: str) -> Result:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, (args, result.output, result.exception)
    return result


def ingest(tmp_path: Path, name: str) -> str:
    audio = tmp_path / f"{name}.wav"
    audio.write_bytes(wav(1.0, seed=ord(name)))
    meta = tmp_path / f"{name}.meta.json"
    doc = meta_doc(f"call-{name}", STARTED[name], **{"from": NUMBERS[name]})
    doc["customer"] = {"phone": NUMBERS[name]}
    meta.write_text(json.dumps(doc))
    return cli("ingest", str(audio), "--meta", str(meta)).stdout.strip().splitlines()[-1]
