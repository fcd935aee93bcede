"""/api/v1/consent: the consent rate for the DPO."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from callvault.accounts.auth import Principal, require_roles
from callvault.consent.rate import consent_rate
from callvault.deps import RuntimeDep, SessionDep
from callvault.inputs import Day

router = APIRouter(prefix="/api/v1/consent", tags=["consent"])

dpo_only = require_roles("dpo")


@router.get("/rate")
def get_consent_rate(
    session: SessionDep,
    runtime: RuntimeDep,
    principal: Annotated[Principal, Depends(dpo_only)],
    start: Annotated[Day | None, Query(alias="from")] = None,
    end: Annotated[Day | None, Query(alias="to")] = None,
) -> dict[str, Any]:
    """Accepted, refused, no answer (and withdrawn at the prompt) per UTC day and version.

    Defaults to the last 30 days up to today.
    """
    today = runtime.clock.now().date()
    end = end or today
    start = start or end - timedelta(days=29)
    return consent_rate(session, start, end).as_dict()
