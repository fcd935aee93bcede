"""The published policy (§5): `/policy` for everyone, `/intranet/policy` for employees, Art. 13."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from callvault.accounts.auth import Principal
from callvault.deps import RuntimeDep, SessionDep
from callvault.errors import NotFound
from callvault.policy.models import PolicyVersion
from callvault.web.pages import SignedIn, Visitor
from callvault.web.templating import language_for, render

router = APIRouter(include_in_schema=False)

_HEADING = re.compile(r"^\d+\.\s+\S")


@dataclass(frozen=True)
class PublishedVersion:
    version: PolicyVersion
    valid_until: object  # datetime | None: when the next version took effect
    in_force: bool
    upcoming: bool


def policy_blocks(text: str) -> list[tuple[str, str]]:
    """The policy text as (kind, text) blocks: numbered headings, bullet items and paragraphs."""
    blocks: list[tuple[str, str]] = []
    for raw in re.split(r"\n\s*\n", text.strip()):
        chunk = " ".join(line.strip() for line in raw.splitlines() if line.strip())
        if not chunk:
            continue
        if _HEADING.match(chunk) and len(chunk) < 120:
            blocks.append(("heading", chunk))
        elif chunk.startswith(("•", "- ")):
            for item in re.split(r"\s*•\s*", chunk):
                if item.strip():
                    blocks.append(("item", item.strip()))
        else:
            blocks.append(("paragraph", chunk))
    return blocks


def _published(session: SessionDep, runtime: RuntimeDep) -> list[PublishedVersion]:
    from callvault.policy.service import published_versions

    now = runtime.clock.now()
    versions = sorted(published_versions(session), key=lambda v: v.number)
    shown: list[PublishedVersion] = []
    for index, version in enumerate(versions):
        later = [v.effective_from for v in versions[index + 1 :] if v.effective_from <= now]
        upcoming = version.effective_from > now
        shown.append(
            PublishedVersion(
                version=version,
                valid_until=later[0] if later else None,
                in_force=not upcoming and not later,
                upcoming=upcoming,
            )
        )
    return list(reversed(shown))


Published = Annotated[list[PublishedVersion], Depends(_published)]


def _policy_page(
    request: Request,
    principal: Principal | None,
    published: list[PublishedVersion],
    audience: str,
    session: SessionDep,
    runtime: RuntimeDep,
) -> HTMLResponse:
    from callvault.policy.identity import version_text

    current = next((p for p in published if p.in_force), None)
    language = language_for(request, principal)
    text = ""
    if current is not None:
        text = version_text(session, runtime.settings, current.version, language)
    return render(
        request,
        "policy/published.html",
        {
            "current": current,
            "published": published,
            "blocks": policy_blocks(text),
            "audience": audience,
        },
        principal=principal,
    )


@router.get("/policy", response_class=HTMLResponse)
def public_policy(
    request: Request,
    principal: Visitor,
    published: Published,
    session: SessionDep,
    runtime: RuntimeDep,
) -> HTMLResponse:
    """The policy in force and every earlier version, public with no login (§5)."""
    return _policy_page(request, principal, published, "public", session, runtime)


@router.get("/intranet/policy", response_class=HTMLResponse)
def intranet_policy(
    request: Request,
    principal: SignedIn,
    published: Published,
    session: SessionDep,
    runtime: RuntimeDep,
) -> HTMLResponse:
    """The same policy on the intranet, for employees who are logged in (§5)."""
    return _policy_page(request, principal, published, "intranet", session, runtime)


@router.get("/policy/versions/{number}", response_class=HTMLResponse)
def policy_version_page(
    number: int,
    request: Request,
    principal: Visitor,
    published: Published,
    session: SessionDep,
    runtime: RuntimeDep,
) -> HTMLResponse:
    """One earlier (or upcoming) published version in full."""
    from callvault.policy.identity import version_text

    chosen = next((p for p in published if p.version.number == number), None)
    if chosen is None:
        raise NotFound("no such policy version")
    language = language_for(request, principal)
    text = version_text(session, runtime.settings, chosen.version, language)
    return render(
        request,
        "policy/version.html",
        {"chosen": chosen, "blocks": policy_blocks(text)},
        principal=principal,
    )


@router.get("/privacy/{audience}", response_class=HTMLResponse)
def art13_page(
    audience: Literal["callers", "employees"],
    request: Request,
    principal: Visitor,
    session: SessionDep,
    runtime: RuntimeDep,
) -> HTMLResponse:
    """The GDPR Art. 13 information for callers and for employees."""
    from callvault.policy.art13 import art13_information

    language = language_for(request, principal)
    info = art13_information(
        session, runtime, "caller" if audience == "callers" else "employee", language
    )
    return render(
        request, "policy/art13.html", {"info": info, "audience": audience}, principal=principal
    )
