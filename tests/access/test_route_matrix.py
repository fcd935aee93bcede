"""Deny by default (§6): every route of the whole app, for every kind of caller.

The table below names, for each route of `create_app`, the roles that may use it; everything
else must be refused (401/403, or the login page for anonymous visitors of web pages). A route
that is not in the table and not in the public allow-list fails the test by name, so a new route
without authorisation cannot slip in: add it to the table with the roles it is meant for.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from starlette.routing import Mount

from callvault.accounts.roles import SERVICE_INGEST, SERVICE_METRICS, SERVICE_TELEPHONY, Role
from callvault.accounts.tokens import create_service_token
from callvault.app import create_app
from callvault.clock import FixedClock
from callvault.policy.models import PolicyVersion
from callvault.runtime import Runtime
from tests.access.conftest import MakeAccount
from tests.accounts.conftest import login

ANONYMOUS = "anonymous"
DPO, TM, QA, AGENT, IT = (
    Role.DPO.value,
    Role.TRAINING_MANAGER.value,
    Role.QA_MANAGER.value,
    Role.AGENT.value,
    Role.IT_ADMIN.value,
)
PEOPLE = frozenset({DPO, TM, QA, AGENT, IT})
GRANTEES = frozenset({TM, QA})
CALLERS = (ANONYMOUS, *sorted(PEOPLE), SERVICE_INGEST, SERVICE_TELEPHONY, SERVICE_METRICS)

# Reachable without signing in, on purpose. Telephony webhooks are protected by the provider's
# request signature instead; the static files and the policy texts are public by §5.
PUBLIC_ROUTES: frozenset[tuple[str, str]] = frozenset(
    {
        ("GET", "/api/v1/openapi.json"),
        ("GET", "/api/v1/docs"),
        ("GET", "/docs/oauth2-redirect"),
        ("GET", "/healthz"),
        ("POST", "/api/v1/session"),
        ("GET", "/api/v1/policy/versions"),
        ("GET", "/api/v1/policy/versions/current"),
        ("GET", "/api/v1/policy/versions/{number}"),
        ("GET", "/api/v1/policy/art13"),
        ("GET", "/api/v1/policy/versions/{number}/prompt-audio/{language}"),
        (
            "GET",
            "/api/v1/policy/prompt-audio/{audio_id}",
        ),  # the provider fetches prompts for <Play>
        ("GET", "/"),  # redirects visitors to the login page
        ("POST", "/language"),
        ("GET", "/login"),
        ("POST", "/login"),
        ("GET", "/policy"),
        ("GET", "/policy/versions/{number}"),
        ("GET", "/privacy/{audience}"),
        # a password-reset link is its own proof (one-time, 24 h, stored hashed)
        ("POST", "/api/v1/password-reset"),
        ("GET", "/password-reset/{token}"),
        ("POST", "/password-reset/{token}"),
    }
)
PUBLIC_PREFIXES = ("/telephony/", "/static")

ROUTE_ROLES: dict[tuple[str, str], frozenset[str]] = {
    # accounts
    ("GET", "/api/v1/session"): PEOPLE,
    ("DELETE", "/api/v1/session"): PEOPLE,
    ("POST", "/api/v1/account/password"): PEOPLE,
    ("POST", "/api/v1/account/totp"): PEOPLE,
    ("POST", "/api/v1/account/totp/confirm"): PEOPLE,
    ("GET", "/api/v1/accounts"): frozenset({IT}),
    ("POST", "/api/v1/accounts"): frozenset({IT}),
    ("POST", "/api/v1/accounts/{account_id}/disable"): frozenset({IT}),
    ("POST", "/api/v1/accounts/{account_id}/totp-reset"): frozenset({IT}),
    ("POST", "/api/v1/accounts/{account_id}/enable"): frozenset({IT}),
    ("POST", "/api/v1/accounts/{account_id}/password-reset"): frozenset({IT}),
    ("GET", "/api/v1/service-tokens"): frozenset({IT}),
    ("POST", "/api/v1/service-tokens"): frozenset({IT}),
    ("POST", "/api/v1/service-tokens/{token_id}/revoke"): frozenset({IT}),
    ("POST", "/api/v1/service-tokens/{token_id}/rotate"): frozenset({IT}),
    # IT assigns every role but the DPO's; a DPO gives or takes the DPO role (the service decides)
    ("POST", "/api/v1/accounts/{account_id}/role"): frozenset({IT, DPO}),
    # access
    ("GET", "/api/v1/recordings"): GRANTEES,
    ("GET", "/api/v1/recordings/{recording_id}"): GRANTEES,
    ("GET", "/api/v1/recordings/{recording_id}/audio"): GRANTEES,
    ("GET", "/api/v1/recordings/{recording_id}/transcript"): GRANTEES,
    ("POST", "/api/v1/grants"): frozenset({DPO}),
    ("GET", "/api/v1/grants"): frozenset({DPO, TM, QA}),
    ("POST", "/api/v1/grants/{grant_id}/revoke"): frozenset({DPO}),
    ("GET", "/api/v1/access/refusals"): frozenset({DPO}),
    ("POST", "/api/v1/access-requests"): GRANTEES,
    ("GET", "/api/v1/access-requests"): frozenset({DPO}) | GRANTEES,
    ("GET", "/api/v1/access-requests/{request_id}"): frozenset({DPO}) | GRANTEES,
    ("POST", "/api/v1/access-requests/{request_id}/approve"): frozenset({DPO}),
    ("POST", "/api/v1/access-requests/{request_id}/reject"): frozenset({DPO}),
    # recordings (ingest by integrations only)
    ("POST", "/api/v1/recordings"): frozenset({SERVICE_INGEST}),
    # redaction: marking a moment as sensitive during or after the call, and the status
    ("POST", "/api/v1/recordings/{ref}/marks"): frozenset({AGENT, QA, DPO, SERVICE_TELEPHONY}),
    ("GET", "/api/v1/recordings/{recording_id}/pseudonymisation"): frozenset({DPO, IT}) | GRANTEES,
    # audit
    ("GET", "/api/v1/audit"): frozenset({DPO, IT}),
    ("GET", "/api/v1/audit/refusals"): frozenset({DPO, IT}),
    ("GET", "/api/v1/audit/verify"): frozenset({DPO, IT}),
    # policy administration
    ("GET", "/api/v1/policy/drafts"): frozenset({DPO}),
    ("POST", "/api/v1/policy/drafts"): frozenset({DPO}),
    ("GET", "/api/v1/policy/drafts/{draft_id}"): frozenset({DPO}),
    ("PATCH", "/api/v1/policy/drafts/{draft_id}"): frozenset({DPO}),
    ("POST", "/api/v1/policy/drafts/{draft_id}/approve"): frozenset({DPO}),
    ("POST", "/api/v1/policy/drafts/{draft_id}/discard"): frozenset({DPO}),
    ("POST", "/api/v1/policy/versions/{number}/prompt-audio/{language}"): frozenset({DPO}),
    # consent
    ("GET", "/api/v1/consent/rate"): frozenset({DPO}),
    # withdrawal
    ("POST", "/api/v1/withdrawals"): frozenset({AGENT, DPO}),
    # DSAR
    ("POST", "/api/v1/dsars"): frozenset({DPO}),
    ("GET", "/api/v1/dsars"): frozenset({DPO}),
    ("GET", "/api/v1/dsars/{dsar_id}"): frozenset({DPO}),
    ("POST", "/api/v1/dsars/{dsar_id}/build"): frozenset({DPO}),
    ("GET", "/api/v1/dsars/{dsar_id}/bundle"): frozenset({DPO}),
    ("POST", "/api/v1/dsars/{dsar_id}/deliver"): frozenset({DPO}),
    ("POST", "/api/v1/dsars/{dsar_id}/close"): frozenset({DPO}),
    # quality assurance: forms and evaluations by QA managers, feedback for agents
    ("POST", "/api/v1/qa/forms"): frozenset({QA}),
    ("GET", "/api/v1/qa/forms"): frozenset({QA}),
    ("GET", "/api/v1/qa/forms/{form_id}"): frozenset({QA}),
    ("PUT", "/api/v1/qa/forms/{form_id}"): frozenset({QA}),
    ("POST", "/api/v1/qa/forms/{form_id}/publish"): frozenset({QA}),
    ("POST", "/api/v1/qa/evaluations"): frozenset({QA}),
    ("GET", "/api/v1/qa/evaluations"): frozenset({QA, AGENT}),
    ("GET", "/api/v1/qa/evaluations/{evaluation_id}"): frozenset({QA, AGENT}),
    ("PUT", "/api/v1/qa/evaluations/{evaluation_id}"): frozenset({QA}),
    ("POST", "/api/v1/qa/evaluations/{evaluation_id}/submit"): frozenset({QA}),
    ("POST", "/api/v1/qa/evaluations/{evaluation_id}/acknowledge"): frozenset({AGENT}),
    ("POST", "/api/v1/qa/evaluations/{evaluation_id}/dispute"): frozenset({AGENT}),
    ("POST", "/api/v1/qa/evaluations/{evaluation_id}/dispute/answer"): frozenset({QA}),
    ("GET", "/api/v1/qa/reports"): frozenset({QA, AGENT}),
    ("POST", "/api/v1/qa/samples"): frozenset({QA}),
    ("GET", "/api/v1/qa/samples"): frozenset({QA}),
    ("GET", "/api/v1/qa/samples/{sample_id}"): frozenset({QA}),
    ("POST", "/api/v1/qa/calibrations"): frozenset({QA}),
    ("GET", "/api/v1/qa/calibrations"): frozenset({QA}),
    ("GET", "/api/v1/qa/calibrations/{calibration_id}"): frozenset({QA}),
    ("POST", "/api/v1/qa/calibrations/{calibration_id}/evaluations"): frozenset({QA}),
    ("POST", "/api/v1/qa/calibrations/{calibration_id}/reference"): frozenset({QA}),
    # web pages
    ("POST", "/logout"): PEOPLE,
    ("GET", "/account"): PEOPLE,
    ("GET", "/account/password"): PEOPLE,
    ("POST", "/account/password"): PEOPLE,
    ("GET", "/account/totp"): PEOPLE,
    ("POST", "/account/totp/start"): PEOPLE,
    ("POST", "/account/totp/confirm"): PEOPLE,
    ("GET", "/grants"): frozenset({DPO}),
    ("POST", "/grants"): frozenset({DPO}),
    ("POST", "/grants/{grant_id}/revoke"): frozenset({DPO}),
    ("GET", "/intranet/policy"): PEOPLE,
    ("GET", "/withdrawal"): frozenset({AGENT, DPO}),
    ("POST", "/withdrawal"): frozenset({AGENT, DPO}),
    ("POST", "/withdrawal/confirm"): frozenset({AGENT, DPO}),
    ("GET", "/dpo"): frozenset({DPO}),
    ("GET", "/it"): frozenset({IT}),
    ("GET", "/audit"): frozenset({DPO, IT}),
    ("POST", "/audit/verify"): frozenset({DPO, IT}),
    ("GET", "/audit/export"): frozenset({DPO, IT}),
    ("GET", "/accounts"): frozenset({IT, DPO}),
    ("POST", "/accounts"): frozenset({IT}),
    ("POST", "/accounts/{account_id}/disable"): frozenset({IT}),
    ("POST", "/accounts/{account_id}/totp-reset"): frozenset({IT}),
    ("POST", "/accounts/{account_id}/enable"): frozenset({IT}),
    ("POST", "/accounts/{account_id}/password-reset"): frozenset({IT}),
    ("GET", "/access-requests"): frozenset({DPO}) | GRANTEES,
    ("POST", "/access-requests"): GRANTEES,
    ("GET", "/access-requests/{request_id}"): frozenset({DPO}) | GRANTEES,
    ("POST", "/access-requests/{request_id}/approve"): frozenset({DPO}),
    ("POST", "/access-requests/{request_id}/reject"): frozenset({DPO}),
    ("GET", "/service-tokens"): frozenset({IT}),
    ("POST", "/service-tokens"): frozenset({IT}),
    ("POST", "/service-tokens/{token_id}/revoke"): frozenset({IT}),
    ("POST", "/service-tokens/{token_id}/rotate"): frozenset({IT}),
    ("POST", "/accounts/{account_id}/role"): frozenset({IT, DPO}),
    ("GET", "/dsars"): frozenset({DPO}),
    ("POST", "/dsars"): frozenset({DPO}),
    ("GET", "/dsars/{dsar_id}"): frozenset({DPO}),
    ("POST", "/dsars/{dsar_id}/build"): frozenset({DPO}),
    ("POST", "/dsars/{dsar_id}/{step}"): frozenset({DPO}),
    ("GET", "/policy/manage"): frozenset({DPO}),
    ("POST", "/policy/manage/drafts"): frozenset({DPO}),
    ("GET", "/policy/manage/drafts/{draft_id}"): frozenset({DPO}),
    ("POST", "/policy/manage/drafts/{draft_id}"): frozenset({DPO}),
    ("GET", "/recordings"): GRANTEES,
    ("GET", "/recordings/{recording_id}"): GRANTEES,
    ("GET", "/recordings/{recording_id}/audio"): GRANTEES,
    ("POST", "/recordings/{recording_id}/reason"): GRANTEES,
    ("POST", "/recordings/{recording_id}/leak-reports"): GRANTEES,
    # quality-assurance pages
    ("GET", "/qa"): frozenset({QA, AGENT}),
    ("GET", "/qa/forms/new"): frozenset({QA}),
    ("GET", "/qa/forms/{form_id}"): frozenset({QA}),
    ("GET", "/qa/start"): frozenset({QA}),
    ("POST", "/qa/evaluations"): frozenset({QA}),
    ("GET", "/qa/evaluations/{evaluation_id}"): frozenset({QA, AGENT}),
    ("GET", "/qa/evaluations/{evaluation_id}/audio"): frozenset({QA}),
    ("GET", "/qa/samples"): frozenset({QA}),
    ("POST", "/qa/samples"): frozenset({QA}),
    ("GET", "/qa/samples/{sample_id}"): frozenset({QA}),
    ("GET", "/qa/calibrations"): frozenset({QA}),
    ("POST", "/qa/calibrations"): frozenset({QA}),
    ("GET", "/qa/calibrations/{calibration_id}"): frozenset({QA}),
    ("GET", "/qa/reports"): frozenset({QA, AGENT}),
    # training library: training managers only (§6: agents have no library access)
    ("POST", "/api/v1/training/clips"): frozenset({TM}),
    ("GET", "/api/v1/training/clips"): frozenset({TM}),
    ("GET", "/api/v1/training/clips/{clip_id}"): frozenset({TM}),
    ("PATCH", "/api/v1/training/clips/{clip_id}"): frozenset({TM}),
    ("GET", "/api/v1/training/clips/{clip_id}/audio"): frozenset({TM}),
    ("GET", "/api/v1/training/clips/{clip_id}/transcript"): frozenset({TM}),
    ("POST", "/api/v1/training/clips/{clip_id}/marks"): frozenset({TM}),
    ("POST", "/api/v1/training/clips/{clip_id}/review"): frozenset({TM}),
    ("POST", "/api/v1/training/clips/{clip_id}/leak-reports"): frozenset({TM}),
    ("POST", "/api/v1/training/recordings/{recording_id}/leak-reports"): GRANTEES,
    ("GET", "/api/v1/training/leak-reports/weekly"): frozenset({DPO}),
    ("GET", "/api/v1/training/tags"): frozenset({TM}),
    ("POST", "/api/v1/training/tags"): frozenset({TM}),
    ("GET", "/api/v1/training/collections"): frozenset({TM}),
    ("POST", "/api/v1/training/collections"): frozenset({TM}),
    ("GET", "/api/v1/training/collections/{collection_id}"): frozenset({TM}),
    ("PATCH", "/api/v1/training/collections/{collection_id}"): frozenset({TM}),
    ("DELETE", "/api/v1/training/collections/{collection_id}"): frozenset({TM}),
    ("GET", "/training"): frozenset({TM}),
    ("POST", "/training/reason"): frozenset({TM}),
    ("GET", "/training/clips/new"): frozenset({TM}),
    ("POST", "/training/clips"): frozenset({TM}),
    ("GET", "/training/clips/{clip_id}"): frozenset({TM}),
    ("GET", "/training/clips/{clip_id}/audio"): frozenset({TM}),
    ("POST", "/training/clips/{clip_id}/marks"): frozenset({TM}),
    ("POST", "/training/clips/{clip_id}/review"): frozenset({TM}),
    ("POST", "/training/clips/{clip_id}/leak-reports"): frozenset({TM}),
    ("GET", "/training/collections"): frozenset({TM}),
    ("POST", "/training/collections"): frozenset({TM}),
    ("GET", "/training/collections/{collection_id}"): frozenset({TM}),
    ("GET", "/training/collections/{collection_id}/present"): frozenset({TM}),
    # metrics: a service token with the scope `metrics` only
    ("GET", "/metrics"): frozenset({SERVICE_METRICS}),
}


def app_routes(app: FastAPI) -> Iterator[tuple[str, str]]:
    """(method, path) for every route the app serves, however its routers are nested."""
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if isinstance(route, Mount) or context.path is None:
            yield ("*", getattr(route, "path", "") or "")
            continue
        for method in sorted(context.methods or {"*"}):
            if method != "HEAD":
                yield (method, context.path)


def is_public(method: str, path: str) -> bool:
    return (method, path) in PUBLIC_ROUTES or path.startswith(PUBLIC_PREFIXES)


@pytest.fixture
def app(runtime: Runtime) -> FastAPI:
    built: FastAPI = create_app(runtime)
    return built


def unlisted_routes(app: FastAPI) -> list[tuple[str, str]]:
    return sorted(r for r in set(app_routes(app)) if not is_public(*r) and r not in ROUTE_ROLES)


def test_every_route_is_public_on_purpose_or_in_the_role_table(app: FastAPI) -> None:
    routes = set(app_routes(app))
    missing = unlisted_routes(app)
    assert not missing, (
        "routes with no entry in ROUTE_ROLES (tests/access/test_route_matrix.py); add each "
        f"with the roles allowed to use it, and protect it with require_roles: {missing}"
    )
    stale = sorted(r for r in ROUTE_ROLES if r not in routes)
    assert not stale, f"ROUTE_ROLES names routes the app no longer has: {stale}"


def test_a_new_route_without_an_entry_is_named(app: FastAPI) -> None:
    def leak() -> dict[str, str]:
        return {"everything": "open"}

    app.add_api_route("/api/v1/leak", leak, methods=["GET"])
    assert unlisted_routes(app) == [("GET", "/api/v1/leak")]


def _url(path: str) -> str:
    # Path parameters get a fresh UUID: refusals must come before any lookup, so it does not
    # matter that nothing has that id.
    parts = []
    for piece in path.split("/"):
        parts.append(str(uuid.uuid4()) if piece.startswith("{") else piece)
    return "/".join(parts)


def _is_refusal(response: object, caller: str) -> bool:
    status = getattr(response, "status_code", 0)
    if status in (401, 403):
        return True
    location = getattr(response, "headers", {}).get("location", "")
    return caller == ANONYMOUS and status in (302, 303, 307) and location.startswith("/login")


Callers = dict[str, tuple[TestClient, dict[str, str]]]


@pytest.fixture
def callers(
    app: FastAPI,
    make_account: MakeAccount,
    clock: FixedClock,
    session: Session,
    policy_version: PolicyVersion,
) -> Iterator[Callers]:
    """A client per kind of caller, signed in (people) or holding a token (services).

    People's clients re-sign-in by themselves when a route (logout) ended their session.
    """
    clients: Callers = {}
    opened: list[TestClient] = []
    for caller in CALLERS:
        client = TestClient(app, follow_redirects=False)
        client.__enter__()
        opened.append(client)
        headers: dict[str, str] = {}
        if caller in PEOPLE:
            account = make_account(Role(caller))
            headers = login(client, account, clock)
            client.__dict__["_matrix_account"] = account
        elif caller.startswith("service:"):
            scope = caller.split(":", 1)[1]
            issued = create_service_token(
                session,
                clock,
                name=f"matrix-{scope}",
                scope=scope,  # type: ignore[arg-type]
            )
            headers = {"Authorization": f"Bearer {issued.token}"}
        clients[caller] = (client, headers)
    yield clients
    for client in opened:
        client.__exit__(None, None, None)


def _still_signed_in(caller: str, callers: Callers, clock: FixedClock) -> None:
    client, headers = callers[caller]
    if caller in PEOPLE and client.get("/api/v1/session").status_code != 200:
        client.cookies.clear()
        headers.clear()
        headers.update(login(client, client.__dict__["_matrix_account"], clock))


def test_every_route_refuses_everyone_it_does_not_name(
    app: FastAPI, callers: Callers, clock: FixedClock
) -> None:
    assert SERVICE_INGEST in callers and SERVICE_TELEPHONY in callers
    problems: list[str] = []
    for method, path in sorted(set(app_routes(app))):
        if is_public(method, path) or (method, path) not in ROUTE_ROLES:
            continue  # the test above names routes missing from the table
        allowed = ROUTE_ROLES[(method, path)]
        url = _url(path)
        for caller, (client, headers) in callers.items():
            kwargs: dict[str, object] = {"headers": headers}
            if method in ("POST", "PUT", "PATCH", "DELETE"):
                kwargs["json"] = {}
            response = client.request(method, url, **kwargs)  # type: ignore[arg-type]
            if method != "GET" and response.status_code < 400:
                _still_signed_in(caller, callers, clock)  # it may have been a logout
            refused = _is_refusal(response, caller)
            if caller in allowed and refused:
                problems.append(f"{method} {path}: {caller} refused ({response.status_code})")
            if caller not in allowed and not refused:
                problems.append(f"{method} {path}: {caller} NOT refused ({response.status_code})")
    assert not problems, "route matrix disagrees with the app:\n" + "\n".join(problems)
