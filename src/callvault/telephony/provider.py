"""The telephony provider seam: fetch and delete a recording; Twilio-compatible REST via httpx."""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import httpx
import structlog

from callvault.config import Settings
from callvault.errors import ConfigurationError, ProviderError

log = structlog.get_logger(__name__)

#: Provider ids go into REST paths, so only URL-safe ids are accepted (Twilio: RE + 32 hex).
PROVIDER_ID = re.compile(r"^[A-Za-z0-9_-]{6,64}$")
CHUNK = 256 * 1024


@dataclass(frozen=True)
class FetchedMedia:
    """A recording downloaded to a private temporary file."""

    path: Path
    size: int
    sha256: str
    media_type: str


class TelephonyProvider(Protocol):
    """What callvault needs from a provider once a call is recorded."""

    def fetch_recording(self, recording_sid: str, into: Path) -> FetchedMedia:
        """Download the recording's media into the file `into`; ProviderError on failure."""
        ...

    def delete_recording(self, recording_sid: str) -> bool:
        """Delete the provider's copy; True if deleted now, False if it was already gone."""
        ...


class TwilioCompatibleProvider:
    """Twilio's 2010-04-01 REST API (also spoken by SignalWire and Telnyx's compatibility API).

    The media URL is built from the configured API base and the recording id, never taken from
    the webhook's RecordingUrl, so the account credentials only ever go to the configured host.
    """

    def __init__(
        self,
        api_base: str,
        account_sid: str,
        auth_token: str,
        *,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.account_sid = account_sid
        self._client = httpx.Client(
            base_url=api_base.rstrip("/"),
            auth=(account_sid, auth_token),
            timeout=httpx.Timeout(timeout, connect=10.0),
            transport=transport,
            follow_redirects=True,
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> TwilioCompatibleProvider:
        token = settings.twilio_auth_token.get_secret_value() if settings.twilio_auth_token else ""
        if not settings.twilio_account_sid or not token:
            raise ConfigurationError(
                "set CALLVAULT_TWILIO_ACCOUNT_SID and CALLVAULT_TWILIO_AUTH_TOKEN "
                "to fetch recordings"
            )
        return cls(settings.twilio_api_base, settings.twilio_account_sid, token)

    def _path(self, recording_sid: str, suffix: str) -> str:
        if not PROVIDER_ID.match(recording_sid):
            raise ProviderError("the recording id is not a provider id", reason="bad_recording_id")
        return f"/2010-04-01/Accounts/{self.account_sid}/Recordings/{recording_sid}{suffix}"

    def fetch_recording(self, recording_sid: str, into: Path) -> FetchedMedia:
        digest = hashlib.sha256()
        size = 0
        try:
            with self._client.stream("GET", self._path(recording_sid, ".wav")) as response:
                _raise_for(response, "fetch")
                expected = response.headers.get("content-length")
                media_type = response.headers.get("content-type", "audio/wav").split(";")[0]
                fd = os.open(into, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                with os.fdopen(fd, "wb") as out:
                    for chunk in response.iter_bytes(CHUNK):
                        out.write(chunk)
                        digest.update(chunk)
                        size += len(chunk)
        except httpx.TransportError as exc:
            raise ProviderError(
                "the provider could not be reached", reason=_transport_reason(exc)
            ) from None
        if size == 0:
            raise ProviderError("the provider sent an empty recording", reason="media_empty")
        if expected is not None and expected.isdigit() and int(expected) != size:
            raise ProviderError("the recording download was truncated", reason="media_truncated")
        return FetchedMedia(into, size, digest.hexdigest(), media_type)

    def delete_recording(self, recording_sid: str) -> bool:
        try:
            response = self._client.delete(self._path(recording_sid, ".json"))
        except httpx.TransportError as exc:
            raise ProviderError(
                "the provider could not be reached", reason=_transport_reason(exc)
            ) from None
        if response.status_code == 404:
            return False
        _raise_for(response, "delete")
        return True

    def close(self) -> None:
        self._client.close()


def _raise_for(response: httpx.Response, step: str) -> None:
    if response.is_success:
        return
    if response.status_code in (401, 403):
        raise ProviderError(f"the provider refused the {step} (credentials)", reason="auth")
    raise ProviderError(
        f"the provider answered {response.status_code} to the {step}",
        reason=f"http_{response.status_code}",
    )


def _transport_reason(exc: httpx.TransportError) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return "timeout"
    if isinstance(exc, httpx.ConnectError):
        return "connect"
    return "transport"


def provider_for(settings: Settings) -> TelephonyProvider:
    """The configured provider (the Twilio-compatible REST API is the one implementation)."""
    return TwilioCompatibleProvider.from_settings(settings)
