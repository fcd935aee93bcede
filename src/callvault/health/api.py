"""`GET /healthz`: 200 when database, storage and keyring are usable, else 503 naming which."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from callvault.deps import RuntimeDep
from callvault.health.service import check_health

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Liveness and readiness")
async def healthz(runtime: RuntimeDep) -> JSONResponse:
    report = await run_in_threadpool(check_health, runtime)
    body: dict[str, object] = {
        "status": "ok" if report.healthy else "unavailable",
        "checks": report.checks,
    }
    if not report.healthy:
        body["failed"] = report.failed
    return JSONResponse(
        body, status_code=200 if report.healthy else 503, headers={"Cache-Control": "no-store"}
    )
