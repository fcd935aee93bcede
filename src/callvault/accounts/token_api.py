"""HTTP routes for IT's service tokens: list, create, revoke and rotate (the secret shown once)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, Field

from callvault.accounts import tokens
from callvault.accounts.auth import Principal, client_address, require_roles
from callvault.accounts.models import ServiceAccount
from callvault.accounts.roles import Role
from callvault.deps import RuntimeDep, SessionDep

# Included by callvault.accounts.api under its /api/v1 prefix.
router = APIRouter(prefix="/service-tokens", tags=["service tokens"])

ItAdmin = Annotated[Principal, Depends(require_roles(Role.IT_ADMIN))]


class TokenOut(BaseModel):
    id: uuid.UUID
    name: str
    scope: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None
    state: str

    @classmethod
    def of(cls, account: ServiceAccount) -> TokenOut:
        return cls(
            id=account.id,
            name=account.name,
            scope=account.scope,
            prefix=account.token_prefix,
            created_at=account.created_at,
            last_used_at=account.last_used_at,
            revoked_at=account.disabled_at,
            state=tokens.token_state(account),
        )


class TokenIssued(TokenOut):
    token: str  # shown this once; only its SHA-256 is stored


class TokenCreate(BaseModel):
    name: str = Field(max_length=120)
    scope: str = Field(max_length=20)


def _issued(session: SessionDep, response: Response, issued: tokens.IssuedToken) -> TokenIssued:
    response.headers["Cache-Control"] = "no-store"  # the token: in this answer only
    account = tokens.find_token(session, issued.account_id)
    return TokenIssued(**TokenOut.of(account).model_dump(), token=issued.token)


@router.get("", response_model=list[TokenOut])
def list_service_tokens(principal: ItAdmin, session: SessionDep) -> list[TokenOut]:
    """Every service token with when it was last used; never a secret."""
    return [TokenOut.of(t) for t in tokens.list_tokens(session)]


@router.post("", response_model=TokenIssued, status_code=201)
def create_service_token(
    body: TokenCreate,
    principal: ItAdmin,
    request: Request,
    response: Response,
    session: SessionDep,
    runtime: RuntimeDep,
) -> TokenIssued:
    """A new service account for an integration; its token is in this answer only."""
    issued = tokens.create_token(
        session,
        runtime.clock,
        name=body.name,
        scope=body.scope,
        actor=principal.actor,
        source=client_address(request),
    )
    return _issued(session, response, issued)


@router.post("/{token_id}/revoke", response_model=TokenOut)
def revoke_service_token(
    token_id: uuid.UUID,
    principal: ItAdmin,
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
) -> TokenOut:
    """Stop a token at once: it gets 401 from now on."""
    account = tokens.find_token(session, str(token_id))
    tokens.revoke_token(
        session, runtime.clock, account, actor=principal.actor, source=client_address(request)
    )
    return TokenOut.of(account)


@router.post("/{token_id}/rotate", response_model=TokenIssued)
def rotate_service_token(
    token_id: uuid.UUID,
    principal: ItAdmin,
    request: Request,
    response: Response,
    session: SessionDep,
    runtime: RuntimeDep,
) -> TokenIssued:
    """A new secret for the same service account (in this answer only); the old one stops."""
    account = tokens.find_token(session, str(token_id))
    issued = tokens.rotate_token(
        session, runtime.clock, account, actor=principal.actor, source=client_address(request)
    )
    return _issued(session, response, issued)
