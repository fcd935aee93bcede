"""The consent IVR (§4): prompt, one digit, and only the digit 1 leads to a recorded call.

Every answer is a pure function of the call's stored state, so a provider retrying a webhook
for the same CallSid gets the same TwiML and nothing is saved twice.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from dataclasses import dataclass

import sqlalchemy as sa
import structlog
from sqlalchemy.orm import Session, lazyload

from callvault.consent.service import prompt_sha256, record_consent, record_outcome
from callvault.errors import ConfigurationError, InvalidInput, InvalidPhoneNumber
from callvault.phone import normalise_e164
from callvault.policy.identity import identity_in_force, played_prompt
from callvault.policy.models import PolicyVersion
from callvault.policy.prompt_audio import current_prompt_audio
from callvault.policy.service import version_in_force
from callvault.runtime import Runtime
from callvault.telephony import twiml
from callvault.telephony.models import CallOutcome, TelephonyCall

log = structlog.get_logger(__name__)

LANGUAGES = ("sv", "en")
CONSENT, REFUSE, WITHDRAW = "1", "2", "9"
#: A failure (silence or a wrong digit) replays the prompt; this many connect unrecorded.
MAX_FAILURES = 2
LINE_CONSENT, LINE_WITHDRAWAL = "consent", "withdrawal"


@dataclass(frozen=True)
class IncomingCall:
    """The webhook fields the IVR uses (Twilio names: CallSid, From, To, Digits)."""

    call_sid: str
    caller: str | None = None
    called: str | None = None
    digits: str | None = None
    request_token: str | None = None  # I-Twilio-Idempotency-Token: the same on a retry


def write_intent(session: Session) -> None:
    """On SQLite, take the write lock before the first read of a read-then-write transaction.

    A deferred SQLite transaction that reads and then writes fails at once with "database is
    locked" when another connection committed in between (WAL snapshot); taking the lock first
    makes concurrent webhooks queue on the busy timeout instead. PostgreSQL needs nothing.
    """
    bind = session.get_bind()
    if bind.dialect.name == "sqlite":
        session.execute(sa.text("UPDATE telephony_calls SET failures = failures WHERE 1 = 0"))


def call_key(runtime: Runtime, call_sid: str) -> str:
    """A keyed hash of the CallSid: the call state never names the provider's call."""
    key = runtime.keyring.lookup_key()
    return hmac.new(key, b"telephony.call|" + call_sid.encode(), hashlib.sha256).hexdigest()


def answer_call(
    session: Session, runtime: Runtime, call: IncomingCall, language: str = "sv"
) -> str:
    """POST /voice: the consent prompt, or the withdrawal line's confirmation."""
    if language not in LANGUAGES:
        raise InvalidInput("language must be sv or en")
    write_intent(session)
    state = _find(session, runtime, call.call_sid)
    if state is None:
        line = LINE_WITHDRAWAL if _is_withdrawal_line(runtime, call.called) else LINE_CONSENT
        try:
            state = _start(session, runtime, call, language, line)
        except ConfigurationError:
            # No policy in force: nothing may be recorded, but the caller still gets through.
            log.error("ivr_no_policy_in_force", hint="run `callvault init`")
            return twiml.connect(
                runtime.settings.agent_destination, language=language, recorded=False
            )
        if line == LINE_WITHDRAWAL:
            return _withdraw(session, runtime, state, call, then_connect=False)
    return _replay(session, runtime, state)


def handle_choice(session: Session, runtime: Runtime, call: IncomingCall) -> str:
    """POST /consent: 1 consents, 2 refuses, 9 withdraws; anything else counts as a failure."""
    write_intent(session)
    state = _find(session, runtime, call.call_sid, lock=True)
    if state is None:  # the call state is gone (purged, restored database): begin it now
        try:
            state = _start(session, runtime, call, "sv", LINE_CONSENT)
        except ConfigurationError:
            log.error("ivr_no_policy_in_force", hint="run `callvault init`")
            return twiml.connect(runtime.settings.agent_destination, language="sv", recorded=False)
    if state.outcome != CallOutcome.PROMPTING:
        return _replay(session, runtime, state)
    token = call.request_token[:128] if call.request_token else None
    if token and token == state.last_request_token:
        return _replay(session, runtime, state)  # the provider retried the same request
    state.last_request_token = token
    version = _version(session, state.policy_version_id)
    digit = (call.digits or "").strip()[:1]
    now = runtime.clock.now()
    state.updated_at = now
    if digit == CONSENT:
        evidence = record_consent(
            session,
            runtime,
            call_id=call.call_sid,
            digit=digit,
            given_at=now,
            policy_version=version,
            prompt_version=_prompt_version(version, state),
            played_prompt_sha256=state.prompt_sha256,
            language=state.language,
            caller_e164=_e164(call.caller),
            source="ivr",
        )
        state.consent_evidence_id = evidence.id
        _finish(session, runtime, state, version, CallOutcome.ACCEPTED, evidence.id)
    elif digit == REFUSE:
        _finish(session, runtime, state, version, CallOutcome.REFUSED)
    elif digit == WITHDRAW:
        return _withdraw(session, runtime, state, call, then_connect=True)
    else:
        state.failures += 1
        if state.failures >= MAX_FAILURES:
            _finish(session, runtime, state, version, CallOutcome.NO_ANSWER)
    session.flush()
    return _replay(session, runtime, state)


def _replay(session: Session, runtime: Runtime, state: TelephonyCall) -> str:
    """The TwiML for the call's current state."""
    destination = runtime.settings.agent_destination
    lang = state.language
    match state.outcome:
        case CallOutcome.PROMPTING:
            return _prompt_twiml(session, runtime, state)
        case CallOutcome.ACCEPTED:
            return twiml.connect(destination, language=lang, recorded=True)
        case CallOutcome.REFUSED:
            return twiml.connect(destination, language=lang, recorded=False)
        case CallOutcome.NO_ANSWER:
            return twiml.connect(
                destination,
                language=lang,
                recorded=False,
                before=[twiml.message("no_answer", lang)],
            )
        case CallOutcome.WITHDRAWN:
            return _withdrawal_twiml(session, runtime, state)
    raise AssertionError(f"unknown call outcome {state.outcome}")


def _prompt_twiml(session: Session, runtime: Runtime, state: TelephonyCall) -> str:
    if state.prompt_audio_id is not None:
        base = runtime.settings.public_url.rstrip("/")
        url = f"{base}/api/v1/policy/prompt-audio/{state.prompt_audio_id}"
        return twiml.prompt(language=state.language, text=None, audio_url=url)
    version = _version(session, state.policy_version_id)
    return twiml.prompt(
        language=state.language,
        text=played_prompt(session, runtime.settings, version, state.language, state.created_at),
        audio_url=None,
    )


def _withdrawal_twiml(session: Session, runtime: Runtime, state: TelephonyCall) -> str:
    lang = state.language
    if state.withdrawal_reference is None:
        dpo = identity_in_force(session, runtime.settings).dpo_contact
        said = [twiml.message("number_unknown", lang, dpo=dpo)]
    else:
        said = [twiml.message("withdrawn", lang, ref=twiml.spell(state.withdrawal_reference))]
    if state.line == LINE_WITHDRAWAL:
        return twiml.say_and_hang_up(said, language=lang)
    said.append(twiml.message("connect_unrecorded", lang))
    return twiml.connect(
        runtime.settings.agent_destination, language=lang, recorded=False, before=said
    )


def _withdraw(
    session: Session,
    runtime: Runtime,
    state: TelephonyCall,
    call: IncomingCall,
    *,
    then_connect: bool,
) -> str:
    """Withdraw consent for the calling number (LIFECYCLE's withdrawal service) and confirm it."""
    from callvault.withdrawal.service import withdraw

    number = _e164(call.caller)
    if number is not None:
        receipt = withdraw(session, runtime, number=number, actor="system", channel="ivr")
        state.withdrawal_reference = receipt.reference
    version = _version(session, state.policy_version_id)
    _finish(session, runtime, state, version, CallOutcome.WITHDRAWN)
    session.flush()
    log.info(
        "ivr_withdrawal",
        call_state_id=str(state.id),
        line=state.line,
        number_known=number is not None,
        connect=then_connect,
    )
    return _withdrawal_twiml(session, runtime, state)


def _finish(
    session: Session,
    runtime: Runtime,
    state: TelephonyCall,
    version: PolicyVersion,
    outcome: CallOutcome,
    evidence_id: uuid.UUID | None = None,
) -> None:
    from callvault.audit.service import record

    state.outcome = outcome
    now = runtime.clock.now()
    state.updated_at = now
    if state.line == LINE_CONSENT:
        record_outcome(
            session, at=now, policy_version=version, outcome=outcome.value, language=state.language
        )
    if outcome in (CallOutcome.ACCEPTED, CallOutcome.REFUSED, CallOutcome.NO_ANSWER):
        action = {"accepted": "consent.given", "refused": "consent.refused"}.get(
            outcome.value, "consent.no_answer"
        )
        record(
            session,
            actor="system",
            action=action,
            object_type="consent_evidence" if evidence_id else "policy_version",
            object_id=str(evidence_id or version.id),
            source="ivr",
            details={"policy_version": version.number, "language": state.language},
            at=now,
        )
    log.info(
        "ivr_outcome",
        call_state_id=str(state.id),
        outcome=outcome.value,
        policy_version=version.number,
    )


def _start(
    session: Session, runtime: Runtime, call: IncomingCall, language: str, line: str
) -> TelephonyCall:
    now = runtime.clock.now()
    version = version_in_force(session, now, with_purposes=False)
    audio = current_prompt_audio(session, version.id, language) if line == LINE_CONSENT else None
    state = TelephonyCall(
        call_key=call_key(runtime, call.call_sid),
        line=line,
        called_number=(call.called or "")[:255] or None,  # the columns hold 255
        language=language,
        policy_version_id=version.id,
        prompt_audio_id=audio.id if audio else None,
        prompt_sha256=audio.sha256
        if audio
        else prompt_sha256(played_prompt(session, runtime.settings, version, language, now)),
        failures=0,
        outcome=CallOutcome.PROMPTING,
        created_at=now,
        updated_at=now,
    )
    try:
        with session.begin_nested():
            session.add(state)
    except sa.exc.IntegrityError:  # the same CallSid arrived twice at once
        found = _find(session, runtime, call.call_sid)
        assert found is not None  # noqa: S101
        return found
    log.info(
        "ivr_call_started", call_state_id=str(state.id), line=line, policy_version=version.number
    )
    return state


def _find(
    session: Session, runtime: Runtime, call_sid: str, *, lock: bool = False
) -> TelephonyCall | None:
    query = sa.select(TelephonyCall).where(TelephonyCall.call_key == call_key(runtime, call_sid))
    if lock:
        query = query.with_for_update()
    return session.scalar(query)


def _version(session: Session, version_id: uuid.UUID) -> PolicyVersion:
    """The call's policy version without its purposes (the IVR needs only the prompts)."""
    version = session.get(PolicyVersion, version_id, options=[lazyload(PolicyVersion.purposes)])
    assert version is not None  # noqa: S101  (foreign key)
    return version


def _prompt_version(version: PolicyVersion, state: TelephonyCall) -> str:
    """Which prompt was played, as the evidence names it: 'v1/sv/text' or 'v1/sv/audio/<id>'."""
    if state.prompt_audio_id is not None:
        return f"v{version.number}/{state.language}/audio/{state.prompt_audio_id.hex[:12]}"
    return f"v{version.number}/{state.language}/text"


def _e164(raw: str | None) -> str | None:
    """The caller's number, or None when withheld or not a phone number (e.g. a SIP client)."""
    if not raw or raw.startswith(("client:", "sip:")) or raw.lower() in {"anonymous", "restricted"}:
        return None
    try:
        return normalise_e164(raw)
    except InvalidPhoneNumber:
        return None


def _is_withdrawal_line(runtime: Runtime, called: str | None) -> bool:
    configured = runtime.settings.withdrawal_number
    if not configured or not called:
        return False
    return _e164(called) == _e164(configured)
