"""Recording consent evidence (§4, GDPR Art. 7(1)): only the digit 1 is consent."""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy.orm import Session

from callvault.consent.models import ConsentEvidence
from callvault.errors import ConsentMissing
from callvault.policy.models import PolicyVersion
from callvault.runtime import Runtime

CONSENT_DIGIT = "1"


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
    """Save proof of consent; anything but the digit 1 is refused (silence is never consent)."""
    from callvault.vault.fields import phone_lookup_hash, seal

    if digit != CONSENT_DIGIT:
        raise ConsentMissing("consent is the digit 1 pressed by the caller")
    evidence = ConsentEvidence(
        call_id=call_id,
        digit=digit,
        given_at=given_at,
        policy_version_id=policy_version.id,
        prompt_sha256=played_prompt_sha256,
        prompt_version=prompt_version,
        language=language,
        caller_number_enc=seal(runtime.keyring, caller_e164, "consent.caller") if caller_e164 else None,
        caller_number_hash=phone_lookup_hash(runtime.keyring, caller_e164) if caller_e164 else None,
        source=source,
        created_at=runtime.clock.now(),
    )
    session.add(evidence)
    session.flush()
    return evidence
