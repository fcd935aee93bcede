"""`GET /metrics`: Prometheus text format, for a service token with the scope `metrics` only."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from callvault.accounts.auth import Principal, require_roles
from callvault.accounts.roles import SERVICE_METRICS
from callvault.deps import RuntimeDep
from callvault.metrics.service import CONTENT_TYPE, exposition

router = APIRouter(tags=["metrics"])

MetricsReader = Annotated[Principal, Depends(require_roles(SERVICE_METRICS))]


@router.get(
    "/metrics",
    summary="Operational metrics (Prometheus text format)",
    response_class=Response,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
)
async def metrics(_: MetricsReader, runtime: RuntimeDep) -> Response:
    body = await run_in_threadpool(exposition, runtime)
    return Response(body, media_type=CONTENT_TYPE, headers={"Cache-Control": "no-store"})
