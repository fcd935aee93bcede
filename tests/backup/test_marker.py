"""A server started before a restore's replay is done refuses to serve; so does `init`."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from callvault.app import create_app
from callvault.backup.marker import RestoreUnfinished, clear_marker, set_marker
from callvault.backup.setup import initialise
from callvault.runtime import Runtime


def test_requests_are_refused_while_the_marker_exists(vault_runtime: Runtime) -> None:
    client = TestClient(create_app(vault_runtime))
    assert client.get("/healthz").status_code != 503
    set_marker(vault_runtime, "backup-1")
    refused = client.get("/healthz")
    assert refused.status_code == 503 and refused.json()["error"] == "restore_unfinished"
    assert client.post("/api/v1/recordings").status_code == 503
    clear_marker(vault_runtime)
    assert client.get("/healthz").status_code != 503


def test_init_refuses_while_the_marker_exists(vault_runtime: Runtime) -> None:
    set_marker(vault_runtime, "backup-1")
    with pytest.raises(RestoreUnfinished):
        initialise(vault_runtime)


def test_the_worker_runs_no_job_while_the_marker_exists(vault_runtime: Runtime) -> None:
    from huey.exceptions import CancelExecution

    from callvault.backup.tasks import hold_jobs_while_restoring

    hold_jobs_while_restoring(object())  # no marker: the job runs
    set_marker(vault_runtime, "backup-1")
    with pytest.raises(CancelExecution):
        hold_jobs_while_restoring(object())
