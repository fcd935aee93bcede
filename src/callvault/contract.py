"""The API contract, kept in one place for every route (today's and those parts add later):

- every error answer has one body, `ErrorBody` (`{"error": code, "message": text}`), also for
  FastAPI's own validation, parse, 404 and 405 answers;
- the OpenAPI document lists every status a route can answer, derived from what the route is:
  signed-in routes 401/403, path parameters 404 (and 409 for changes to what they name),
  parameters or a body 422, a body 400/413 (and 404 when it names an id), telephony webhooks
  403 (the provider's signature); a route adds its own (409, 415, 429, 503)
  with `responses={409: {"description": …}}` and gets the error body schema with it;
- 405 answers carry an `Allow` header naming every method of the path, not only those of the
  first route that matched it;
- a number is never a date: `?started_until=0.5` is refused instead of read as a Unix time;
- `purpose` parameters and fields are an enum of the purposes the policy has registered, and
  `purpose` query parameters outside it are refused.
"""

from __future__ import annotations

import copy
import datetime as dt
import functools
import re
import types
import typing
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from fastapi.routing import iter_route_contexts
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import compile_path

from callvault.errors import InvalidInput


class ErrorBody(BaseModel):
    """Every error answer: a stable code and a message safe to show (no personal data)."""

    error: str
    message: str


ERROR_SCHEMA_REF = {"$ref": "#/components/schemas/ErrorBody"}

DESCRIPTIONS: dict[int, str] = {
    400: "The body could not be parsed",
    401: "Not signed in, or the token is not valid",
    403: "Signed in, but not allowed (role, scope, CSRF token or provider signature)",
    404: "Unknown, or not yours to see (the same answer)",
    405: "Method not allowed on this path (see Allow)",
    409: "Conflicts with what is stored",
    413: "Too large",
    415: "Not a supported media type or audio format",
    422: "The request is not acceptable",
    429: "Too many attempts; try again later",
    502: "The telephony provider failed",
    503: "Storage or keys are unavailable",
}

HTTP_CODES: dict[int, str] = {
    400: "bad_request",
    401: "authentication_failed",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid_input",
    429: "too_many_attempts",
}

NUMBER = re.compile(r"^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$")


# --- error answers -----------------------------------------------------------------------------


def _problems(exc: RequestValidationError) -> str:
    """Where and what kind of problem, never the value sent (it may be personal data)."""
    parts = []
    for error in exc.errors():
        location = ".".join(str(p) for p in error.get("loc", ()) if p != "body") or "request"
        parts.append(f"{location}: {error.get('type', 'invalid')}")
    return "; ".join(parts[:10]) or "the request is not valid"


async def validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    if any(e.get("type") == "json_invalid" for e in exc.errors()):
        body = ErrorBody(error="bad_request", message="the body is not valid JSON")
        return JSONResponse(body.model_dump(), status_code=400)
    body = ErrorBody(error="invalid_input", message=_problems(exc))
    return JSONResponse(body.model_dump(), status_code=422)


def allowed_methods(routes: Iterable[Any], path: str) -> list[str]:
    """Every method some route serves at `path` (Starlette only names the first match's)."""
    methods: set[str] = set()
    for context in iter_route_contexts(list(routes)):
        if context.path and context.methods and _regex(context.path).match(path):
            methods |= set(context.methods)
    return sorted(methods)


@functools.cache
def _regex(path: str) -> re.Pattern[str]:
    regex, _format, _convertors = compile_path(path)
    return regex


def http_error_handler(app: FastAPI) -> Callable[[Request, Exception], Any]:
    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            allow = allowed_methods(app.router.routes, request.scope.get("path", ""))
            if allow:
                headers["Allow"] = ", ".join(allow)
        code = HTTP_CODES.get(exc.status_code, "error")
        message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
        body = ErrorBody(error=code, message=message)
        return JSONResponse(body.model_dump(), status_code=exc.status_code, headers=headers)

    return http_error


# --- what a route can answer -------------------------------------------------------------------


def _dependants(dependant: Dependant) -> Iterable[Dependant]:
    yield dependant
    for sub in dependant.dependencies:
        yield from _dependants(sub)


def _params(route: Any, kind: str) -> list[Any]:
    """A route's `path_params`, `query_params` or `header_params`, its dependencies' included."""
    dependant = getattr(route, "dependant", None)
    if dependant is None:
        return []
    return [p for d in _dependants(dependant) for p in getattr(d, kind)]


def _calls(dependant: Dependant) -> Iterable[Any]:
    for sub in dependant.dependencies:
        yield sub.call
        yield from _calls(sub)


def needs_principal(route: Any) -> bool:
    from callvault.accounts.auth import current_principal, enrolling_principal

    dependant = getattr(route, "dependant", None)
    if dependant is None:
        return False
    return any(
        call in (current_principal, enrolling_principal) or hasattr(call, "allowed_roles")
        for call in _calls(dependant)
    )


def statuses_of(route: Any) -> set[int]:
    """The error statuses a route can answer, from what it is (and what it declares)."""
    codes: set[int] = set()
    if needs_principal(route):
        codes |= {401, 403}
    path_params = _params(route, "path_params")
    if path_params:
        codes.add(404)
        if set(getattr(route, "methods", None) or ()) & {"POST", "PUT", "PATCH", "DELETE"}:
            codes.add(409)  # acting on a stored thing can conflict with the state it is in
    if path_params or _params(route, "query_params") or _params(route, "header_params"):
        codes.add(422)
    body = getattr(route, "body_field", None)
    if body is not None:
        codes |= {400, 413, 422}
        if _names_an_id(body.field_info.annotation):
            codes.add(404)  # an id in the body that does not exist (or is not yours)
    if str(getattr(route, "path", "")).startswith("/telephony/"):
        codes.add(403)
    declared = getattr(route, "responses", None) or {}
    codes |= {int(c) for c in declared if str(c).isdigit() and int(c) >= 400}
    return codes


def _names_an_id(annotation: Any, depth: int = 0) -> bool:
    """Whether a body model has a UUID field (at most two models deep)."""
    if annotation is uuid.UUID:
        return True
    if depth > 2:
        return False
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return any(_names_an_id(f.annotation, depth + 1) for f in annotation.model_fields.values())
    return any(_names_an_id(arg, depth + 1) for arg in typing.get_args(annotation))


def document_responses(app: FastAPI, document: dict[str, Any]) -> None:
    """Add each operation's error statuses, with the error body, to the document."""
    paths = document.get("paths", {})
    for context in iter_route_contexts(app.router.routes):
        if not getattr(context, "include_in_schema", False) or context.path not in paths:
            continue
        codes = statuses_of(context)
        for method in context.methods or ():
            operation = paths[context.path].get(method.lower())
            if operation is None:
                continue
            responses = operation.setdefault("responses", {})
            for code in sorted(codes):
                spec = responses.setdefault(str(code), {})
                spec.setdefault("description", DESCRIPTIONS.get(code, "Error"))
                content = spec.get("content") or {}
                schema = content.get("application/json", {}).get("schema", {})
                if not content or schema.get("$ref", "").endswith("/HTTPValidationError"):
                    spec["content"] = {"application/json": {"schema": ERROR_SCHEMA_REF}}


# --- numbers are not dates ---------------------------------------------------------------------


def _is_date_type(annotation: Any) -> bool:
    if annotation in (dt.date, dt.datetime):
        return True
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType, typing.Annotated):
        return any(_is_date_type(arg) for arg in typing.get_args(annotation))
    return False


_QUERY_CHECKS: dict[int, tuple[list[str], list[str]]] = {}


def _query_checks(route: Any) -> tuple[list[str], list[str]]:
    """(date parameters, purpose parameters) of a route, worked out once per route."""
    found = _QUERY_CHECKS.get(id(route))
    if found is None:
        found = _QUERY_CHECKS[id(route)] = (date_query_params(route), purpose_query_params(route))
    return found


def date_query_params(route: Any) -> list[str]:
    return [
        p.alias for p in _params(route, "query_params") if _is_date_type(p.field_info.annotation)
    ]


def purpose_query_params(route: Any) -> list[str]:
    return [p.alias for p in _params(route, "query_params") if p.alias == "purpose"]


def registered_purposes(runtime: Any) -> set[str]:
    """Every purpose code the policy has registered, in any version (the enum and the check)."""
    import sqlalchemy as sa

    from callvault.policy.models import PolicyPurpose

    with runtime.sessions() as session:
        return set(session.scalars(sa.select(PolicyPurpose.code).distinct()))


async def check_query(request: Request) -> None:
    """An app-wide dependency: the query parameters the schema cannot refuse by itself."""
    route = request.scope.get("route")
    if getattr(route, "dependant", None) is None:
        return
    dates, purposes = _query_checks(route)
    for name in dates:
        value = request.query_params.get(name)
        if value is not None and NUMBER.match(value):
            raise InvalidInput(f"{name}: give a date as YYYY-MM-DD or ISO 8601, not a number")
    for name in purposes:
        value = request.query_params.get(name)
        if value is not None:
            from starlette.concurrency import run_in_threadpool

            runtime = request.app.state.runtime
            if value not in await run_in_threadpool(registered_purposes, runtime):
                raise InvalidInput(f"{name}: not a purpose registered in the policy")


# --- the document ------------------------------------------------------------------------------


def _set_purpose_enum(node: Any, purposes: list[str]) -> None:
    """Every schema property or parameter named `purpose` gets the registered purposes."""
    if isinstance(node, dict):
        if node.get("name") == "purpose" and isinstance(node.get("schema"), dict):
            _narrow(node["schema"], purposes)
        properties = node.get("properties")
        if isinstance(properties, dict) and isinstance(properties.get("purpose"), dict):
            _narrow(properties["purpose"], purposes)
        for value in node.values():
            _set_purpose_enum(value, purposes)
    elif isinstance(node, list):
        for value in node:
            _set_purpose_enum(value, purposes)


def _narrow(schema: dict[str, Any], purposes: list[str]) -> None:
    for option in schema.get("anyOf", []):
        if option.get("type") == "string":
            option["enum"] = purposes
    if schema.get("type") == "string":
        schema["enum"] = purposes


NO_NUL = "^[^\\u0000]*$"


def _without_nul(node: Any) -> None:
    """Every string the API takes may not hold a NUL (the edge refuses one anywhere in a
    request, since PostgreSQL cannot store it): say so in the document, as a pattern on each
    string without one and on the names of an object's extra properties."""
    if isinstance(node, dict):
        plain = "pattern" not in node and "enum" not in node
        if node.get("type") == "string" and plain and node.get("format") not in ("binary", "byte"):
            node["pattern"] = NO_NUL
        if node.get("type") == "object" and node.get("additionalProperties") is not False:
            node.setdefault("propertyNames", {"pattern": NO_NUL})
        for value in node.values():
            _without_nul(value)
    elif isinstance(node, list):
        for value in node:
            _without_nul(value)


def install_openapi(app: FastAPI) -> None:
    """The document is built once; the registered purposes are filled in on each request."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            document_responses(app, schema)
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            components["ErrorBody"] = ErrorBody.model_json_schema()
            for unused in ("HTTPValidationError", "ValidationError"):
                components.pop(unused, None)
            _without_nul(schema.get("paths", {}))
            _without_nul(components)
            app.openapi_schema = schema
        document = copy.deepcopy(app.openapi_schema)
        try:
            purposes = sorted(registered_purposes(app.state.runtime))
        except Exception:  # no schema yet (before `init`): leave the codes open
            purposes = []
        if purposes:
            _set_purpose_enum(document, purposes)
        return document

    app.openapi = openapi  # type: ignore[method-assign]


def install(app: FastAPI) -> None:
    """Called by `create_app` once every part's routes are in."""
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error_handler(app))
    install_openapi(app)
