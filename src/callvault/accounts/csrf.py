"""CSRF protection for requests authenticated by the session cookie.

Every state-changing request (POST, PUT, PATCH, DELETE) that is authenticated by the session
cookie must carry the session's CSRF token, either in the `X-CSRF-Token` header (JSON clients)
or in a `csrf_token` form field (HTML forms). The token is an HMAC of the session's id under the
server secret: it is fixed for the session's life, changes with every login, and cannot be
computed without the secret. Bearer-token requests carry no cookie and are exempt.
Web pages get the token with `csrf_token(request)` after the principal is resolved, or from
`GET /api/v1/session` / the login answer (`csrf_token`).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac

from fastapi import Request
from starlette.datastructures import FormData

from callvault.errors import PermissionDenied

HEADER = "X-CSRF-Token"
FORM_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def token_for_session(secret: bytes, session_id: str) -> str:
    return hmac.new(secret, b"csrf:" + session_id.encode(), hashlib.sha256).hexdigest()


def csrf_token(request: Request) -> str | None:
    """The CSRF token for the request's signed-in session (None without one), for forms."""
    principal = getattr(request.state, "principal", None)
    session_id = getattr(principal, "session_id", None)
    if not session_id:
        return None
    secret: bytes = request.app.state.runtime.settings.session_secret()
    return token_for_session(secret, session_id)


async def presented_token(request: Request) -> str | None:
    """The token the client sent: header first, else the form field of a form post."""
    header = request.headers.get(HEADER)
    if header:
        return header
    content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if content_type in FORM_TYPES:
        form = await _posted_form(request)
        value = form.get(FORM_FIELD)
        return value if isinstance(value, str) else None
    return None


async def _posted_form(request: Request) -> FormData:
    """The posted form, leaving it (and, where still possible, the raw body) for the route.

    FastAPI parses a route's `Form()` fields before it solves dependencies, so for such routes
    the stream is gone and only the parsed form is left: Starlette caches it on the request.
    Otherwise the body is cached first, so a route that reads it raw still can.
    """
    with contextlib.suppress(RuntimeError):  # "Stream consumed": the form is parsed and cached
        await request.body()
    return await request.form()


async def verify_csrf(request: Request, secret: bytes, session_id: str) -> None:
    """Refuse a state-changing cookie request whose CSRF token is missing or wrong."""
    if request.method.upper() in SAFE_METHODS:
        return
    presented = await presented_token(request)
    expected = token_for_session(secret, session_id)
    if not presented or not hmac.compare_digest(presented.encode(), expected.encode()):
        raise PermissionDenied(
            "missing or wrong CSRF token: send the session's token in the X-CSRF-Token header "
            "or the csrf_token form field"
        )
