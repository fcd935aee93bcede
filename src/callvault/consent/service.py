"""Recording consent evidence (§4, GDPR Art. 7(1)): only the digit 1 is consent."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from callvault.consent.models import ConsentEvidence, ConsentOutcome
from callvault.errors import ConsentMissing, InvalidInput
from callvault.policy.models import PolicyVersion
from callvault.runtime import Runtime

CONSENT_DIGIT = "1"
OUTCOMES = ("accepted", "refused", "no_answer", "withdrawn")


def prompt_sha256(prompt: str | bytes) -> str:
    """The fingerprint of the exact prompt text or audio that was played."""
    data = prompt.encode("utf-8") if isinstance(prompt, str) else prompt
    return hashlib.sha256(data).hexdigest()


def record_consent(
    session: Session,
    runtime: Runtime,
    *,
    call_id: str,
    digit: str | None,
    given_at: datetime,
    policy_version: PolicyVersion,
    prompt_version: str,
    played_prompt_sha256: str,
    language: str,
    caller_e164: str | None,
    source: str,
) -> ConsentEvidence:
    """Save proof of consent; anything but the digit 1 is refused (silence is never consent).

    Idempotent per call: evidence already saved for `call_id` (the IVR saves it when the caller
    presses 1) is returned unchanged, so ingesting that call's recording reuses it.
    """
    from callvault.vault.fields import phone_lookup_hash, seal

    if digit != CONSENT_DIGIT:
        raise ConsentMissing("consent is the digit 1 pressed by the caller")
    existing = evidence_for_call(session, call_id)
    if existing is not None:
        return existing
    evidence = ConsentEvidence(
        call_id=call_id,
        digit=digit,
        given_at=given_at,
        policy_version_id=policy_version.id,
        prompt_sha256=played_prompt_sha256,
        prompt_version=prompt_version,
        language=language,
        caller_number_enc=seal(
            runtime.keyring,
            caller_e164,
            "consent.caller",
            _evidence_epoch(policy_version, given_at),
        )
        if caller_e164
        else None,
        caller_number_hash=phone_lookup_hash(runtime.keyring, caller_e164) if caller_e164 else None,
        source=source,
        created_at=runtime.clock.now(),
    )
    session.add(evidence)
    # Every new piece of evidence counts once as an accepted offer in the consent rate, from
    # the IVR and from platforms that ingest (their prompt asked); reused evidence does not.
    record_outcome(
        session,
        at=given_at,
        policy_version=policy_version,
        outcome="accepted",
        language=language,
        channel=source,
    )
    session.flush()
    return evidence


def _evidence_epoch(policy_version: PolicyVersion, given_at: datetime) -> str | None:
    """The key epoch of a consent's sealed number: evidence is kept at most as long as the
    version's longest retention (and goes with its recording), so a day past that week's end
    its number is unreadable in every backup too."""
    from callvault.vault.epochs import epoch_of

    days = max((p.retention_days for p in policy_version.purposes), default=None)
    if days is None:
        return None
    return epoch_of(given_at + timedelta(days=days + 1))


def evidence_for_call(session: Session, call_id: str) -> ConsentEvidence | None:
    """The consent evidence saved for that call, if the caller consented."""
    return session.scalar(sa.select(ConsentEvidence).where(ConsentEvidence.call_id == call_id))


def record_outcome(
    session: Session,
    *,
    at: datetime,
    policy_version: PolicyVersion,
    outcome: str,
    language: str,
    channel: str = "ivr",
) -> ConsentOutcome:
    """Count one offer of the prompt for the consent rate: time, version and outcome only.

    A refusal keeps nothing else (§4: no caller number, no call id).
    """
    if outcome not in OUTCOMES:
        raise InvalidInput(f"consent outcome must be one of {list(OUTCOMES)}")
    row = ConsentOutcome(
        occurred_at=at,
        day=at.astimezone(UTC).date(),
        policy_version_id=policy_version.id,
        outcome=outcome,
        language=language,
        channel=channel,
    )
    session.add(row)
    session.flush()
    return row
