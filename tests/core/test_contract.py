"""The API contract, kept centrally for every route: documented statuses with one error body,
405 with a correct Allow, numbers refused as dates, registered purposes as an enum."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Annotated, Any

import pytest
from fastapi import APIRouter, Depends, FastAPI
from fastapi.testclient import TestClient

from callvault import contract, parts
from callvault.accounts.auth import Principal, require_roles
from callvault.app import create_app
from callvault.policy.models import PolicyVersion
from callvault.runtime import Runtime


@pytest.fixture
def app(runtime: Runtime, policy_version: PolicyVersion) -> FastAPI:
    runtime.keyring.ensure()
    built: FastAPI = create_app(runtime)
    return built


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def document(client: TestClient) -> dict[str, Any]:
    answer = client.get("/api/v1/openapi.json")
    assert answer.status_code == 200
    body: dict[str, Any] = answer.json()
    return body


def _responses(document: dict[str, Any], method: str, path: str) -> set[str]:
    return set(document["paths"][path][method]["responses"])


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("get", "/api/v1/dsars/{dsar_id}", {"200", "401", "403", "404", "422"}),
        ("get", "/api/v1/recordings", {"200", "401", "403", "422"}),
        ("post", "/api/v1/grants", {"201", "400", "401", "403", "404", "413", "422"}),
        ("post", "/api/v1/dsars/{dsar_id}/build", {"401", "403", "404", "409", "422"}),
        ("post", "/api/v1/session", {"200", "400", "401", "413", "422", "429"}),
        ("get", "/metrics", {"200", "401", "403"}),
        ("post", "/api/v1/recordings", {"401", "409", "413", "415", "422", "503"}),
    ],
)
def test_every_status_a_route_can_answer_is_documented_with_the_error_body(
    document: dict[str, Any], method: str, path: str, expected: set[str]
) -> None:
    responses = document["paths"][path][method]["responses"]
    assert expected <= set(responses)
    for code, spec in responses.items():
        if int(code) >= 400:
            schema = spec["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/ErrorBody"}, (path, code)
    assert "HTTPValidationError" not in document["components"]["schemas"]


def test_a_route_added_by_a_part_gets_the_contract_without_doing_anything(
    runtime: Runtime, policy_version: PolicyVersion
) -> None:
    router = APIRouter(prefix="/api/v1")

    @router.post("/library/{item_id}/approve")
    def approve(
        item_id: uuid.UUID, _: Annotated[Principal, Depends(require_roles("dpo"))]
    ) -> dict[str, str]:
        return {}

    app = FastAPI()
    app.state.runtime = runtime
    app.include_router(router)
    contract.install(app)
    operation = app.openapi()["paths"]["/api/v1/library/{item_id}/approve"]["post"]
    assert {"401", "403", "404", "409", "422"} <= set(operation["responses"])
    assert parts.PARTS  # the real app builds itself the same way, from every part


def test_405_names_every_method_of_the_path(client: TestClient) -> None:
    answer = client.put("/api/v1/dsars")
    assert answer.status_code == 405
    assert answer.headers["allow"] == "GET, POST"
    assert answer.json() == {"error": "method_not_allowed", "message": "Method Not Allowed"}


@pytest.mark.parametrize("value", ["0.5", "0", "1e3", "-12", " 7 "])
def test_a_number_is_not_a_date(client: TestClient, value: str) -> None:
    from callvault.accounts.auth import Principal, current_principal

    client.app.dependency_overrides[current_principal] = lambda: Principal(  # type: ignore[attr-defined]
        kind="account", id=__import__("uuid").uuid4(), role="qa_manager", session_id=None
    )
    answer = client.get("/api/v1/recordings", params={"started_until": value})
    assert answer.status_code == 422
    assert answer.json()["error"] == "invalid_input"
    assert "started_until" in answer.json()["message"]
    good = client.get("/api/v1/recordings", params={"started_until": "2026-03-01T00:00:00Z"})
    assert good.status_code == 200


def test_validation_errors_use_the_error_body_without_the_value(client: TestClient) -> None:
    answer = client.get("/api/v1/policy/versions/not-a-number")
    assert answer.status_code == 422
    assert answer.json()["error"] == "invalid_input"
    assert "not-a-number" not in answer.text
    broken = client.post(
        "/api/v1/session", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert broken.status_code == 400
    assert broken.json()["error"] == "bad_request"


def test_purpose_is_an_enum_of_the_registered_purposes(
    document: dict[str, Any], client: TestClient
) -> None:
    parameters = document["paths"]["/api/v1/recordings"]["get"]["parameters"]
    (purpose,) = [p for p in parameters if p["name"] == "purpose"]
    options = purpose["schema"].get("anyOf", [purpose["schema"]])
    assert any(o.get("enum") == ["quality_assurance", "training"] for o in options)
    grant = document["components"]["schemas"]["GrantIn"]["properties"]["purpose"]
    assert grant["enum"] == ["quality_assurance", "training"]
    variant = document["components"]["schemas"]["GrantIn"]["properties"]["variant"]
    assert set(variant["enum"]) == {"pseudonymised", "original"}


def test_an_unregistered_purpose_is_refused(client: TestClient) -> None:
    import uuid

    from callvault.accounts.auth import Principal, current_principal

    client.app.dependency_overrides[current_principal] = lambda: Principal(  # type: ignore[attr-defined]
        kind="account", id=uuid.uuid4(), role="qa_manager", session_id=None
    )
    assert client.get("/api/v1/recordings", params={"purpose": "marketing"}).status_code == 422
    assert client.get("/api/v1/recordings", params={"purpose": "training"}).status_code == 200


def test_the_document_says_no_string_may_hold_a_nul(
    client: TestClient, document: dict[str, Any]
) -> None:
    """The edge refuses a NUL anywhere in a request (422); the document says so on every string
    it leaves open and on the names of extra properties, so schema-valid requests pass."""
    import re

    strings: list[dict[str, Any]] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "string" and "enum" not in node:
                strings.append(node)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(document["paths"])
    walk(document["components"]["schemas"])
    open_strings = [s for s in strings if s.get("format") not in ("binary", "byte")]
    assert open_strings and all("pattern" in s for s in open_strings)
    pattern = contract.NO_NUL
    assert re.fullmatch(pattern, "Arg kund, vecka 1") and not re.fullmatch(pattern, "a\x00b")
    refused = client.post("/api/v1/session", json={"email": "a\u0000@example.org", "password": "x"})
    assert refused.status_code == 422
