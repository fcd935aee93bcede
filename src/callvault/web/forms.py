"""Form helpers shared by the pages: the CSRF token to embed, safe redirects and error texts."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, Request
from starlette.datastructures import FormData

from callvault.accounts.auth import Principal


def csrf_token(request: Request, principal: Principal | None) -> str | None:
    """The signed-in session's CSRF token for hidden form fields and htmx headers.

    The token is checked by `callvault.accounts.auth` when the principal of a state-changing
    request is resolved, so every POST route that depends on a principal is protected.
    """
    from callvault.accounts.csrf import csrf_token as token_of

    if principal is None:
        return None
    return token_of(request)


def safe_next(target: str | None, default: str = "/") -> str:
    """Only same-site paths may be redirect targets (no open redirects)."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    if "\\" in target:
        return default
    return target


async def _posted_form(request: Request) -> FormData:
    """The posted form. Pages read fields leniently with `text`/`texts` (a missing field is
    empty and gets a friendly message on the page) rather than `Form()` parameters, whose
    validation errors are JSON; both work with the CSRF check, which reads the cached form."""
    return await request.form()


Posted = Annotated[FormData, Depends(_posted_form)]


def text(form: FormData, name: str, default: str = "") -> str:
    """One text field of a posted form (files and missing fields give the default)."""
    value = form.get(name)
    return value if isinstance(value, str) else default


def texts(form: FormData, name: str) -> list[str]:
    return [value for value in form.getlist(name) if isinstance(value, str) and value]
