"""Twilio-compatible voice webhooks: /telephony/twilio/{voice,consent,recording-status}."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, Response

from callvault.deps import RuntimeDep, SessionDep
from callvault.telephony.ivr import IncomingCall, answer_call, handle_choice
from callvault.telephony.signature import verified_form
from callvault.telephony.transfer import register_recording

router = APIRouter(prefix="/telephony/twilio", tags=["telephony"])

FormDep = Annotated[dict[str, str], Depends(verified_form)]
IDEMPOTENCY_HEADER = "I-Twilio-Idempotency-Token"


def _call(form: dict[str, str], request: Request) -> IncomingCall:
    return IncomingCall(
        call_sid=form.get("CallSid", ""),
        caller=form.get("From"),
        called=form.get("To"),
        digits=form.get("Digits"),
        request_token=request.headers.get(IDEMPOTENCY_HEADER),
    )


def _twiml(body: str) -> Response:
    return Response(body, media_type="application/xml")


def _require_call_sid(form: dict[str, str]) -> None:
    from callvault.errors import InvalidInput
    from callvault.telephony.provider import PROVIDER_ID

    if not PROVIDER_ID.match(form.get("CallSid", "")):
        raise InvalidInput("the webhook has no usable CallSid")


@router.post("/voice")
def voice(
    form: FormDep,
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
    lang: Annotated[Literal["sv", "en"], Query()] = "sv",
) -> Response:
    """An incoming call: the consent prompt (or, on the withdrawal number, the withdrawal)."""
    _require_call_sid(form)
    return _twiml(answer_call(session, runtime, _call(form, request), lang))


@router.post("/consent")
def consent(form: FormDep, request: Request, session: SessionDep, runtime: RuntimeDep) -> Response:
    """The caller's digit (or none): 1 records, 2 does not, 9 withdraws, else replay once."""
    _require_call_sid(form)
    return _twiml(handle_choice(session, runtime, _call(form, request)))


@router.post("/recording-status", status_code=204)
def recording_status(form: FormDep, session: SessionDep, runtime: RuntimeDep) -> Response:
    """A finished recording: queue its transfer into the vault and its deletion at the provider."""
    register_recording(
        session,
        runtime,
        account_sid=form.get("AccountSid"),
        call_sid=form.get("CallSid", ""),
        recording_sid=form.get("RecordingSid", ""),
        status=form.get("RecordingStatus", ""),
        duration=form.get("RecordingDuration"),
        channels=form.get("RecordingChannels"),
    )
    return Response(status_code=204)
