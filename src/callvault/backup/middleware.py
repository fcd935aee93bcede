"""While a restore has not finished its journal replay, every request is answered 503."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

from callvault.backup.marker import RestoreUnfinished, restore_unfinished
from callvault.runtime import Runtime


def install(app: FastAPI) -> None:
    runtime: Runtime = app.state.runtime

    @app.middleware("http")
    async def _refuse_until_replayed(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        # Checked on every request, not once at start: a server started before a restore (or
        # during one) must stop serving until the replay is done.
        if restore_unfinished(runtime):
            error = RestoreUnfinished()
            return JSONResponse(
                {"error": error.code, "message": error.message},
                status_code=error.status_code,
                headers={"Retry-After": "30"},
            )
        return await call_next(request)
