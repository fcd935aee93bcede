"""Builds the ASGI app from the parts' routers; no logic of its own."""

from __future__ import annotations

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse

from callvault import __version__, contract
from callvault.edge import BodyLimit, TrustedProxies, body_limit_for
from callvault.errors import CallvaultError
from callvault.parts import part_modules
from callvault.runtime import Runtime, get_runtime, set_runtime


async def _callvault_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, CallvaultError)
    return JSONResponse(
        exc.as_document(),
        status_code=exc.status_code,
        headers=getattr(exc, "headers", None),
    )


def create_app(runtime: Runtime | None = None) -> FastAPI:
    runtime = runtime or get_runtime()
    set_runtime(runtime)
    app = FastAPI(
        title="callvault",
        version=__version__,
        openapi_url="/api/v1/openapi.json",
        docs_url="/api/v1/docs",
        redoc_url=None,
        dependencies=[Depends(contract.check_query)],
    )
    app.state.runtime = runtime
    app.add_exception_handler(CallvaultError, _callvault_error)
    for module in part_modules("api"):
        app.include_router(module.router)
    contract.install(app)  # after the routes, before the parts' own error pages
    for module in part_modules("middleware"):
        module.install(app)
    app.add_middleware(BodyLimit, limit_for=body_limit_for(runtime.settings))
    app.add_middleware(TrustedProxies, networks=runtime.settings.trusted_proxy_networks)
    return app
