"""Jinja2 rendering for the pages: one environment, gettext per request, role-aware menus."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from callvault.web import i18n, labels
from callvault.web.messages import (
    N_,
    flash_message,
    purpose_label,
    role_label,
    speaker_label,
    variant_label,
)

if TYPE_CHECKING:
    from callvault.accounts.auth import Principal


@dataclass(frozen=True)
class NavItem:
    href: str
    label: str  # an English msgid, translated when rendered
    roles: frozenset[str]


# The menu shows each role only what it may use; the routes enforce the same rules again.
NAVIGATION: tuple[NavItem, ...] = (
    NavItem("/dpo", N_("DPO dashboard"), frozenset({"dpo"})),
    NavItem("/it", N_("IT dashboard"), frozenset({"it_admin"})),
    NavItem("/recordings", N_("Recordings"), frozenset({"training_manager", "qa_manager"})),
    NavItem("/qa", N_("Quality assurance"), frozenset({"qa_manager", "agent"})),
    NavItem("/training", N_("Training library"), frozenset({"training_manager"})),
    NavItem("/grants", N_("Grants"), frozenset({"dpo"})),
    NavItem(
        "/access-requests",
        N_("Requests for access"),
        frozenset({"dpo", "training_manager", "qa_manager"}),
    ),
    NavItem("/policy/manage", N_("Purposes and policy"), frozenset({"dpo"})),
    NavItem("/dsars", N_("Access requests"), frozenset({"dpo"})),
    NavItem("/withdrawal", N_("Withdrawal"), frozenset({"dpo", "agent"})),
    NavItem("/audit", N_("Audit trail"), frozenset({"dpo", "it_admin"})),
    NavItem("/accounts", N_("Accounts"), frozenset({"it_admin", "dpo"})),
    NavItem("/service-tokens", N_("Service tokens"), frozenset({"it_admin"})),
    NavItem(
        "/intranet/policy",
        N_("Policy"),
        frozenset({"dpo", "it_admin", "training_manager", "qa_manager", "agent"}),
    ),
)

HOME_BY_ROLE = {
    "dpo": "/dpo",
    "it_admin": "/it",
    "training_manager": "/recordings",
    "qa_manager": "/recordings",
    "agent": "/withdrawal",
}


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("callvault.web", "templates"),
        autoescape=select_autoescape(["html", "svg"]),
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=i18n.gettext, ngettext=i18n.ngettext, newstyle=True
    )
    env.filters.update(
        when=i18n.format_when,
        day=i18n.format_day,
        last_day=i18n.format_last_day,
        number=i18n.format_number,
        share=i18n.format_share,
        bytes=i18n.format_bytes,
        duration=i18n.format_duration,
        purpose_label=purpose_label,
        variant_label=variant_label,
        role_option=lambda role: (role, role_label(role)),
    )
    env.globals.update(
        {name: getattr(labels, name) for name in labels.TEMPLATE_GLOBALS},
    )
    env.globals.update(
        role_label=role_label,
        purpose_label=purpose_label,
        variant_label=variant_label,
        flash_message=flash_message,
        speaker_label=speaker_label,
    )
    return env


ENV = _environment()


def language_for(request: Request, principal: Principal | None) -> str:
    """The account's language when logged in, else the cookie, else Swedish."""
    if principal is not None:
        chosen = i18n.normalise_language(getattr(principal, "language", None))
        if chosen:
            return chosen
    return i18n.normalise_language(request.cookies.get(i18n.LANGUAGE_COOKIE)) or (
        i18n.DEFAULT_LANGUAGE
    )


def navigation_for(principal: Principal | None) -> list[NavItem]:
    if principal is None or principal.kind != "account":
        return []
    return [item for item in NAVIGATION if principal.role in item.roles]


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    principal: Principal | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """Render a page (or, for htmx requests to a `partial`, just that fragment)."""
    from callvault.web.forms import csrf_token

    language = language_for(request, principal)
    values: dict[str, Any] = {
        "request": request,
        "principal": principal,
        "language": language,
        "languages": i18n.LANGUAGES,
        "navigation": navigation_for(principal),
        "path": request.url.path,
        "csrf_token": csrf_token(request, principal),
        "is_htmx": request.headers.get("HX-Request") == "true",
        "flash": request.query_params.get("done"),
    }
    values.update(context or {})
    with i18n.using_language(language):
        body = ENV.get_template(template).render(values)
    response = HTMLResponse(body, status_code=status_code, headers=headers)
    response.headers.setdefault("Content-Language", language)
    response.headers.setdefault("Cache-Control", "no-store")
    response.headers.setdefault("Vary", "Cookie, HX-Request")
    return response
