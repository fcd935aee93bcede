"""`POST /api/v1/withdrawals`: an agent or the DPO registers a caller's withdrawal of consent."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, status
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field, model_validator

from callvault.accounts.auth import Principal, require_roles
from callvault.accounts.roles import Role
from callvault.deps import RuntimeDep, SessionDep
from callvault.withdrawal.service import withdraw

router = APIRouter(prefix="/api/v1/withdrawals", tags=["withdrawal"])

may_register_withdrawals = require_roles(Role.AGENT, Role.DPO)
WithdrawalPrincipal = Annotated[Principal, Depends(may_register_withdrawals)]


class WithdrawalRequest(BaseModel):
    """Exactly one of `number` (any usual form) and `call_reference` (call id or recording id)."""

    number: str | None = Field(default=None, max_length=40)
    call_reference: str | None = Field(default=None, max_length=128)

    @model_validator(mode="after")
    def _exactly_one(self) -> WithdrawalRequest:
        if (self.number is None) == (self.call_reference is None):
            raise ValueError("give either number or call_reference")
        return self


class WithdrawalAnswer(BaseModel):
    """The same answer whether or not the number ever called."""

    reference: str
    status: str
    message: str


MESSAGE = (
    "The withdrawal is registered. Any recordings are unreadable from now on and are removed "
    "from our systems within minutes. Give the caller the reference."
)


@router.post("", status_code=status.HTTP_202_ACCEPTED, response_model=WithdrawalAnswer)
async def register_withdrawal(
    body: WithdrawalRequest,
    principal: WithdrawalPrincipal,
    runtime: RuntimeDep,
    session: SessionDep,
) -> WithdrawalAnswer:
    receipt = await run_in_threadpool(
        withdraw,
        session,
        runtime,
        number=body.number,
        call_reference=body.call_reference,
        actor=principal.actor,
        channel="api",
    )
    return WithdrawalAnswer(reference=receipt.reference, status=receipt.status, message=MESSAGE)
