"""Webhook authenticity: every provider request carries a valid X-Twilio-Signature.

The signature is an HMAC-SHA1, keyed by the auth token, over the URL the provider requested
plus the sorted form fields. The URL is rebuilt from CALLVAULT_PUBLIC_URL (what the provider
was configured with), not from the Host header, which a proxy may rewrite.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from fastapi import Request
from starlette.concurrency import run_in_threadpool
from twilio.request_validator import RequestValidator

from callvault.accounts.auth import client_address
from callvault.config import Settings
from callvault.deps import RuntimeDep
from callvault.errors import PermissionDenied
from callvault.runtime import Runtime

HEADER = "X-Twilio-Signature"


def signed_url(settings: Settings, request: Request) -> str:
    """The URL as the provider requested it: the public base, the path and the query string."""
    query = request.url.query
    return settings.public_url.rstrip("/") + request.url.path + (f"?{query}" if query else "")


def signature_is_valid(
    settings: Settings, url: str, params: dict[str, str], signature: str
) -> bool:
    token = settings.twilio_auth_token.get_secret_value() if settings.twilio_auth_token else ""
    if not token or not signature:
        return False  # without a token nothing can be verified, so nothing is accepted
    return bool(RequestValidator(token).validate(url, params, signature))


async def verified_form(request: Request, runtime: RuntimeDep) -> dict[str, str]:
    """The webhook's form fields once the signature checks out; 403 and an audit entry if not."""
    params = await _form_fields(request)
    signature = request.headers.get(HEADER, "")
    if signature_is_valid(
        runtime.settings, signed_url(runtime.settings, request), params, signature
    ):
        return params
    await run_in_threadpool(
        _audit_forged, runtime, request, "missing" if not signature else "invalid"
    )
    raise PermissionDenied("the webhook signature is missing or wrong")


async def _form_fields(request: Request) -> dict[str, str]:
    """The posted fields. Providers post urlencoded forms, parsed here directly (the multipart
    parser is not needed for them and costs more on a busy line)."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/x-www-form-urlencoded":
        body = await request.body()
        return dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    form = await request.form()
    return {key: str(value) for key, value in form.multi_items()}


def _audit_forged(runtime: Runtime, request: Request, why: str) -> None:
    from callvault.audit.service import record_isolated

    record_isolated(
        runtime,
        actor="anonymous",
        action="webhook.forged",
        object_type="webhook",
        object_id=request.url.path[:128],
        source=client_address(request),
        outcome="refused",
        details={"signature": why},
    )
