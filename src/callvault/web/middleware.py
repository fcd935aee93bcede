"""Hooks the web interface into the app: static files, HTML error pages and security headers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from callvault.errors import AuthenticationFailed, CallvaultError, NotFound, PermissionDenied

STATIC_DIR = Path(__file__).parent / "static"
# Paths that belong to machines (JSON API, telephony webhooks) keep the app's JSON errors.
MACHINE_PREFIXES = ("/api/", "/telephony/", "/static/")
# Scripts only from our own origin: every library is vendored, nothing inline, nothing from a CDN.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; media-src 'self' blob:; connect-src 'self'; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'"
)


def wants_html(request: Request) -> bool:
    """A person's browser asking for a page, not a machine asking the API."""
    if request.url.path.startswith(MACHINE_PREFIXES):
        return False
    accept = request.headers.get("accept", "")
    return "text/html" in accept or request.headers.get("HX-Request") == "true"


def install(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    json_handler = app.exception_handlers.get(CallvaultError)

    async def callvault_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, CallvaultError)
        if wants_html(request):
            return await html_error(request, exc)
        if json_handler is None:  # pragma: no cover - the app always installs one
            raise exc
        response: Response = await json_handler(request, exc)  # type: ignore[misc]
        return response

    app.add_exception_handler(CallvaultError, callvault_error)
    json_http_handler = app.exception_handlers.get(StarletteHTTPException)

    async def http_error(request: Request, exc: Exception) -> Response:
        """Unknown pages get the same "not found" page as everything else a person asks for."""
        assert isinstance(exc, StarletteHTTPException)
        if wants_html(request) and exc.status_code in (404, 405):
            return await html_error(request, NotFound("no such page"))
        if json_http_handler is None:  # pragma: no cover - the app always installs one
            raise exc
        response: Response = await json_http_handler(request, exc)  # type: ignore[misc]
        return response

    app.add_exception_handler(StarletteHTTPException, http_error)

    @app.middleware("http")
    async def security_headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        if response.headers.get("content-type", "").startswith("text/html"):
            response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
            response.headers.setdefault("X-Frame-Options", "DENY")
            response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        return response


async def html_error(request: Request, exc: CallvaultError) -> Response:
    """Error pages for people: log in again, not allowed, or not found (never which of the two)."""
    from callvault.accounts.auth import PasswordChangeRequired, SecondFactorRequired
    from callvault.web.i18n import gettext, using_language
    from callvault.web.messages import service_message
    from callvault.web.templating import language_for, render

    principal = getattr(request.state, "principal", None)
    if isinstance(exc, AuthenticationFailed) and exc.status_code == 401:
        target = "/login?next=" + quote(request.url.path, safe="/")
        if request.headers.get("HX-Request") == "true":
            return Response(status_code=204, headers={"HX-Redirect": target})
        return RedirectResponse(target, status_code=303)
    if isinstance(exc, SecondFactorRequired):
        return RedirectResponse("/account/totp", status_code=303)
    if isinstance(exc, PasswordChangeRequired):
        return RedirectResponse("/account/password", status_code=303)
    with using_language(language_for(request, principal)):
        if isinstance(exc, NotFound):
            title, message = (
                gettext("Not found"),
                gettext("The page or recording does not exist, or you do not have access to it."),
            )
        elif isinstance(exc, PermissionDenied):
            title, message = (
                gettext("Not allowed"),
                gettext("Your role does not give access to this page."),
            )
        elif exc.status_code == 429:
            title, message = gettext("Too many attempts"), gettext("Please try again later.")
        elif exc.status_code < 500:
            title = gettext("The request could not be handled")
            message = service_message(exc.message)
        else:
            title, message = (
                gettext("Something went wrong"),
                gettext("The error has been logged. Please try again later."),
            )
    return render(
        request,
        "error.html",
        {"title": title, "message": message},
        principal=principal,
        status_code=exc.status_code,
        headers=getattr(exc, "headers", None),
    )
