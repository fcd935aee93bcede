"""Fixtures for the IVR: settings with a Twilio account, the app, and a client that signs its
requests exactly as Twilio does (HMAC-SHA1 over the public URL and the sorted form fields)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from pydantic import SecretStr
from sqlalchemy.orm import Session
from twilio.request_validator import RequestValidator

from callvault.config import Settings
from callvault.policy.models import PolicyVersion
from callvault.policy.service import ensure_first_version
from callvault.runtime import Runtime
from tests.telephony.provider_server import ProviderState, provider_server

PUBLIC_URL = "https://callvault.example.test"
ACCOUNT_SID = "AC" + "0" * 31 + "1"
AUTH_TOKEN = "test-auth-token-" + "7" * 16
AGENT = "+46812345670"
WITHDRAWAL_LINE = "+46812345699"
SUPPORT_LINE = "+46812345600"
CALLER = "+46701234567"


def call_sid(n: int = 1) -> str:
    return f"CA{n:032x}"


def recording_sid(n: int = 1) -> str:
    return f"RE{n:032x}"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "public_url": PUBLIC_URL,
            "twilio_account_sid": ACCOUNT_SID,
            "twilio_auth_token": SecretStr(AUTH_TOKEN),
            "agent_destination": AGENT,
            "withdrawal_number": WITHDRAWAL_LINE,
        }
    )


@pytest.fixture
def version(session: Session, runtime: Runtime) -> PolicyVersion:
    runtime.keyring.ensure()
    v = ensure_first_version(session, runtime)
    session.commit()  # a savepoint in the test's outer transaction; still rolled back at the end
    return v


@dataclass
class Twilio:
    """Posts webhooks as the provider would, signed with the account's auth token."""

    client: TestClient
    key: str = AUTH_TOKEN  # the auth token the signature is computed with

    def sign(self, path: str, params: dict[str, str]) -> str:
        return str(RequestValidator(self.key).compute_signature(PUBLIC_URL + path, params))

    def post(
        self,
        path: str,
        params: dict[str, str],
        *,
        signature: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Response:
        sent = dict(headers or {})
        sent["X-Twilio-Signature"] = self.sign(path, params) if signature is None else signature
        if signature == "":
            del sent["X-Twilio-Signature"]
        return self.client.post(path, data=params, headers=sent)

    def voice(
        self, sid: str, *, caller: str = CALLER, to: str = SUPPORT_LINE, query: str = ""
    ) -> Response:
        path = "/telephony/twilio/voice" + (f"?{query}" if query else "")
        return self.post(path, call_fields(sid, caller, to))

    def press(
        self, sid: str, digits: str | None, *, caller: str = CALLER, retry_of: str | None = None
    ) -> Response:
        fields = call_fields(sid, caller, SUPPORT_LINE)
        if digits is not None:
            fields["Digits"] = digits
        headers = {"I-Twilio-Idempotency-Token": retry_of} if retry_of else None
        return self.post("/telephony/twilio/consent", fields, headers=headers)

    def recording_done(self, sid: str, rec: str, *, duration: str = "3") -> Response:
        return self.post(
            "/telephony/twilio/recording-status",
            {
                "AccountSid": ACCOUNT_SID,
                "CallSid": sid,
                "RecordingSid": rec,
                "RecordingStatus": "completed",
                "RecordingDuration": duration,
                "RecordingChannels": "2",
                "RecordingSource": "DialVerb",
                "RecordingStartTime": "Mon, 02 Mar 2026 09:00:05 +0000",
                "RecordingUrl": f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}/Recordings/{rec}",
            },
        )


def call_fields(sid: str, caller: str, to: str) -> dict[str, str]:
    return {
        "AccountSid": ACCOUNT_SID,
        "CallSid": sid,
        "From": caller,
        "To": to,
        "CallStatus": "in-progress",
        "Direction": "inbound",
        "ApiVersion": "2010-04-01",
    }


@pytest.fixture
def twilio(runtime: Runtime, version: PolicyVersion) -> Iterator[Twilio]:
    from callvault.app import create_app

    with TestClient(create_app(runtime), base_url=PUBLIC_URL) as client:
        yield Twilio(client)


@pytest.fixture(autouse=True)
def memory_queue() -> Iterator[None]:
    """Jobs go to an in-memory queue the test drains, never to a queue file."""
    from callvault.worker.queue import huey

    before = huey.url
    huey.use("memory://")
    huey.flush()
    try:
        yield
    finally:
        huey.flush()
        huey.use(before)


@pytest.fixture
def provider(runtime: Runtime) -> Iterator[ProviderState]:
    state = ProviderState(ACCOUNT_SID, AUTH_TOKEN)
    with provider_server(state) as base:
        runtime.settings = runtime.settings.model_copy(update={"twilio_api_base": base})
        yield state
