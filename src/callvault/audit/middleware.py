"""On shutdown, write the audit entries still waiting for the background writer."""

from __future__ import annotations

from fastapi import FastAPI

from callvault.audit.service import drain_deferred


def install(app: FastAPI) -> None:
    # A refusal recorded while its request held the append lock is written after the request;
    # a clean shutdown must not drop it.
    app.router.add_event_handler("shutdown", drain_deferred)
