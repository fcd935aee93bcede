"""Consent evidence: only the digit 1, saved once per call, the caller's number sealed."""

from __future__ import annotations

import hashlib

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from callvault.consent.models import ConsentEvidence
from callvault.consent.service import evidence_for_call, prompt_sha256, record_consent
from callvault.errors import ConsentMissing
from callvault.policy.models import PolicyVersion
from callvault.runtime import Runtime


def consent(
    session: Session,
    runtime: Runtime,
    version: PolicyVersion,
    digit: str | None,
    call_id: str = "CA1",
) -> ConsentEvidence:
    return record_consent(
        session,
        runtime,
        call_id=call_id,
        digit=digit,
        given_at=runtime.clock.now(),
        policy_version=version,
        prompt_version="v1/sv/text",
        played_prompt_sha256=prompt_sha256(version.prompt_sv),
        language="sv",
        caller_e164="+46701234567",
        source="ivr",
    )


@pytest.mark.parametrize("digit", [None, "", "0", "2", "9", "11", "*"])
def test_anything_but_1_is_not_consent(
    session: Session, runtime: Runtime, policy_version: PolicyVersion, digit: str | None
) -> None:
    runtime.keyring.ensure()
    with pytest.raises(ConsentMissing):
        consent(session, runtime, policy_version, digit)
    assert evidence_for_call(session, "CA1") is None


def test_evidence_is_saved_once_per_call(
    session: Session, runtime: Runtime, policy_version: PolicyVersion
) -> None:
    runtime.keyring.ensure()
    first = consent(session, runtime, policy_version, "1")
    again = consent(session, runtime, policy_version, "1")
    assert again.id == first.id
    assert session.scalar(sa.select(sa.func.count()).select_from(ConsentEvidence)) == 1
    assert b"46701234567" not in (first.caller_number_enc or b"")


@pytest.mark.parametrize("played", ["Tryck 1.", b"RIFF\x00\x00WAVE"])
def test_prompt_fingerprint_is_sha256_of_what_was_played(played: str | bytes) -> None:
    data = played.encode() if isinstance(played, str) else played
    assert prompt_sha256(played) == hashlib.sha256(data).hexdigest()
