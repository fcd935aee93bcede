"""The background jobs: ingest queues pseudonymisation at once; the sweep is only the backstop."""

from __future__ import annotations

import uuid

import pytest

from callvault.clock import FixedClock
from callvault.redaction import service, tasks
from callvault.runtime import Runtime
from callvault.worker.queue import huey
from tests.redaction.conftest import ScriptedRecogniser


def test_ingest_queues_the_pseudonymisation_of_the_new_recording(stored_call: str) -> None:
    queued = []
    while (task := huey.dequeue()) is not None:
        queued.append((task.name, task.args))
    assert queued == [(tasks.pseudonymise.task_class.__name__, (stored_call,))]


def test_the_queued_job_pseudonymises_the_recording_and_the_sweep_then_finds_nothing(
    runtime: Runtime, clock: FixedClock, stored_call: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service, "shared_recogniser", lambda settings: ScriptedRecogniser([[], []]))
    task = huey.dequeue()
    assert task is not None
    huey.execute(task)
    with runtime.sessions() as session:
        view = service.job_status(session, uuid.UUID(stored_call))
    assert view is not None and view.status == "done"
    clock.advance(seconds=service.SWEEP_GRACE.total_seconds() + 1)
    tasks.pseudonymise_pending.call_local()
    assert huey.dequeue() is None
