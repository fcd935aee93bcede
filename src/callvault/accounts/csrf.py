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
import secrets
from urllib.parse import urlsplit

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


# --- login: before there is a session ------------------------------------------------------------
#
# A cross-site form could otherwise sign a victim into the attacker's account (login CSRF). The
# login form carries a pre-session token: a random nonce in a SameSite=Strict cookie, and in the
# form the nonce with its HMAC, which only this server can make (a double-submit cookie that a
# cookie planted from a sibling domain cannot complete). On top, a browser's own word is
# believed: `Sec-Fetch-Site` other than same-origin/none, or an `Origin` other than ours, is
# refused, for the form and for `POST /api/v1/session` alike.

LOGIN_COOKIE = "callvault_login"
LOGIN_FIELD = "login_token"
TRUSTED_FETCH_SITES = frozenset({"same-origin", "none"})


def new_login_nonce() -> str:
    return secrets.token_urlsafe(24)


def login_token(secret: bytes, nonce: str) -> str:
    """What the login form carries for the nonce in its cookie."""
    mac = hmac.new(secret, b"login-csrf:" + nonce.encode(), hashlib.sha256).hexdigest()
    return f"{nonce}.{mac}"


def login_token_matches(secret: bytes, nonce: str | None, presented: str | None) -> bool:
    if not nonce or not presented or len(presented) > 200:
        return False
    return hmac.compare_digest(presented.encode(), login_token(secret, nonce).encode())


def _origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def is_cross_site(request: Request, public_url: str) -> bool:
    """The browser says the request comes from another site (or an opaque origin)."""
    site = request.headers.get("sec-fetch-site")
    if site is not None and site.strip().lower() not in TRUSTED_FETCH_SITES:
        return True
    origin = request.headers.get("origin")
    if origin is None:
        return False  # not a browser, or an old one: the token (forms) still holds
    own = {_origin_of(public_url), _origin_of(str(request.base_url))}
    return origin.strip().lower() not in own
