"""Twilio-compatible voice webhooks: /telephony/twilio/{voice,consent,recording-status}."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from sqlalchemy.orm import Session

from callvault.db import transaction
from callvault.deps import RuntimeDep
from callvault.inputs import finite_number
from callvault.runtime import Runtime
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


_sqlite_writer = threading.Lock()


@contextmanager
def unit_of_work(runtime: Runtime) -> Iterator[Session]:
    """One committed transaction per webhook.

    On SQLite the webhooks' write transactions queue on a lock in this process: SQLite admits
    one writer at a time anyway, and its busy timeout polls with sleeps of up to 100 ms, which
    under a burst of calls turns into seconds of latency. PostgreSQL runs them concurrently.
    """
    if runtime.engine.dialect.name == "sqlite":
        with _sqlite_writer, transaction(runtime.sessions) as session:
            yield session
    else:
        with transaction(runtime.sessions) as session:
            yield session


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
    runtime: RuntimeDep,
    lang: Annotated[Literal["sv", "en"], Query()] = "sv",
) -> Response:
    """An incoming call: the consent prompt (or, on the withdrawal number, the withdrawal)."""
    _require_call_sid(form)
    with unit_of_work(runtime) as session:
        body = answer_call(session, runtime, _call(form, request), lang)
    return _twiml(body)


@router.post("/consent")
def consent(form: FormDep, request: Request, runtime: RuntimeDep) -> Response:
    """The caller's digit (or none): 1 records, 2 does not, 9 withdraws, else replay once."""
    _require_call_sid(form)
    with unit_of_work(runtime) as session:
        body = handle_choice(session, runtime, _call(form, request))
    return _twiml(body)


@router.post("/recording-status", status_code=204)
def recording_status(form: FormDep, runtime: RuntimeDep) -> Response:
    """A finished recording: queue its transfer into the vault and its deletion at the provider."""
    with unit_of_work(runtime) as session:
        _register(session, runtime, form)
    return Response(status_code=204)


def _register(session: Session, runtime: Runtime, form: dict[str, str]) -> None:
    # Refused here, before anything is saved: `1e400` or `nan` would break the job's numbers.
    finite_number(form.get("RecordingChannels"), "RecordingChannels", minimum=1, maximum=16)
    finite_number(form.get("RecordingDuration"), "RecordingDuration", minimum=0, maximum=1e7)
    register_recording(
        session,
        runtime,
        account_sid=form.get("AccountSid"),
        call_sid=form.get("CallSid", ""),
        recording_sid=form.get("RecordingSid", ""),
        status=form.get("RecordingStatus", ""),
        duration=form.get("RecordingDuration"),
        channels=form.get("RecordingChannels"),
        started=form.get("RecordingStartTime"),
    )
