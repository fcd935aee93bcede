"""The reasons a person stated in the web player, kept in a signed cookie bound to the login
session: one reason per recording, and, only when the person chose it on the page, a reason
reused for the next recordings of the same task (purpose and variant). Each page then shows the
reason in use, with a way to change it, and the audit records it against that recording.

The same book serves the training library (`TRAINING`): there the keys are `clip:<id>` and
`collection:<id>` (a presentation states one reason for its collection), in its own cookie."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

from fastapi import Request, Response
from itsdangerous import BadSignature, URLSafeSerializer

from callvault.accounts.auth import Principal
from callvault.runtime import Runtime

REASON_COOKIE = "callvault_reason"
MAX_REMEMBERED = 20  # recordings per cookie; older ones ask again (a cookie holds ~4 KB)


@dataclass(frozen=True)
class ReasonJar:
    """Where a book of reasons is kept: the cookie, the paths it is sent to, its signing salt."""

    cookie: str
    path: str
    salt: str


RECORDINGS = ReasonJar(REASON_COOKIE, "/recordings", "callvault.web.reasons")
TRAINING = ReasonJar("callvault_training_reason", "/training", "callvault.web.training.reasons")


@dataclass(frozen=True)
class StatedReason:
    """The purpose, variant and reason under which one recording is heard and read."""

    purpose: str
    variant: str
    reason: str
    reused: bool = False  # taken over from the person's reuse choice, not typed for this one

    def as_dict(self) -> dict[str, str]:
        return {"purpose": self.purpose, "variant": self.variant, "reason": self.reason}


@dataclass
class ReasonBook:
    """What the cookie holds for one login session."""

    session_id: str | None
    by_recording: dict[str, StatedReason] = field(default_factory=dict)
    reuse: StatedReason | None = None

    def for_recording(self, recording_id: str) -> StatedReason | None:
        return self.by_recording.get(recording_id)

    def remember(self, recording_id: str, stated: StatedReason) -> None:
        self.by_recording.pop(recording_id, None)
        self.by_recording[recording_id] = stated
        while len(self.by_recording) > MAX_REMEMBERED:
            self.by_recording.pop(next(iter(self.by_recording)))

    def in_use(self, key: str) -> StatedReason | None:
        """The reason stated for `key`, else the one the person chose to reuse (marked so)."""
        stated = self.by_recording.get(key)
        if stated is None and self.reuse is not None:
            stated = replace(self.reuse, reused=True)
        return stated


def _signer(runtime: Runtime, jar: ReasonJar) -> URLSafeSerializer:
    return URLSafeSerializer(runtime.settings.session_secret(), salt=jar.salt)


def _reason(data: Any, reused: bool = False) -> StatedReason | None:
    if not isinstance(data, dict):
        return None
    try:
        return StatedReason(str(data["purpose"]), str(data["variant"]), str(data["reason"]), reused)
    except KeyError:
        return None


def reason_book(
    request: Request, runtime: Runtime, principal: Principal, jar: ReasonJar = RECORDINGS
) -> ReasonBook:
    """The reasons stated earlier in this login session (another session's cookie is empty)."""
    book = ReasonBook(principal.session_id)
    raw = request.cookies.get(jar.cookie)
    if not raw:
        return book
    try:
        data = _signer(runtime, jar).loads(raw)
    except BadSignature:
        return book
    if not isinstance(data, dict) or data.get("session") != principal.session_id:
        return book
    recordings = data.get("recordings")
    for rid, item in recordings.items() if isinstance(recordings, dict) else []:
        reused = bool(item.get("reused")) if isinstance(item, dict) else False
        stated = _reason(item, reused)
        if stated is not None:
            book.by_recording[str(rid)] = stated
    book.reuse = _reason(data.get("reuse"))
    return book


def keep_reason_book(
    response: Response,
    request: Request,
    runtime: Runtime,
    book: ReasonBook,
    jar: ReasonJar = RECORDINGS,
) -> None:
    data = {
        "session": book.session_id,
        "recordings": {rid: asdict(s) for rid, s in book.by_recording.items()},
        "reuse": book.reuse.as_dict() if book.reuse else None,
    }
    response.set_cookie(
        jar.cookie,
        _signer(runtime, jar).dumps(data),
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path=jar.path,
    )
