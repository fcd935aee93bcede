"""Who may open a page: dependencies that resolve the signed-in person and check their role."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, Request

from callvault.accounts.auth import Principal, optional_principal, require_roles
from callvault.errors import AuthenticationFailed, PermissionDenied

EMPLOYEE_ROLES = ("dpo", "it_admin", "training_manager", "qa_manager", "agent")


def _visitor(
    request: Request, principal: Annotated[Principal | None, Depends(optional_principal)]
) -> Principal | None:
    """The person if logged in (service tokens do not open pages), else None."""
    person = principal if principal is not None and principal.kind == "account" else None
    request.state.principal = person
    return person


Visitor = Annotated[Principal | None, Depends(_visitor)]


def signed_in(*roles: str) -> Callable[..., Any]:
    """A dependency: the logged-in person holding one of `roles` (401 → login page, else 403)."""
    check = require_roles(*(roles or EMPLOYEE_ROLES))

    # A default, not an annotation: annotations are strings here and `check` is local.
    def dependency(person: Visitor, principal: Principal = Depends(check)) -> Principal:
        if person is None:
            raise AuthenticationFailed("log in first")
        if principal.kind != "account":
            raise PermissionDenied("pages are for people")
        return principal

    return dependency


SignedIn = Annotated[Principal, Depends(signed_in())]
DPO = Annotated[Principal, Depends(signed_in("dpo"))]
ITAdmin = Annotated[Principal, Depends(signed_in("it_admin"))]
# Who sees the accounts list and may change roles: IT, and the DPO for the DPO role itself.
RoleAssigner = Annotated[Principal, Depends(signed_in("it_admin", "dpo"))]
Auditor = Annotated[Principal, Depends(signed_in("dpo", "it_admin"))]
Reviewer = Annotated[Principal, Depends(signed_in("training_manager", "qa_manager"))]
WithdrawalDesk = Annotated[Principal, Depends(signed_in("dpo", "agent"))]
