"""Test recordings built through the vault contract, until ingest is the way to make them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from callvault.consent.models import ConsentEvidence
from callvault.phone import normalise_e164
from callvault.policy.models import PolicyVersion
from callvault.recordings.models import Recording, RecordingPurpose, RecordingState
from callvault.runtime import Runtime
from callvault.vault.fields import phone_lookup_hash, seal
from callvault.vault.service import store_artifact

DEFAULT_KINDS = ("original", "metadata", "transcript")
MEDIA_TYPES = {
    "original": "audio/flac",
    "pseudonymised_audio": "audio/flac",
    "metadata": "application/json",
    "transcript": "application/json",
    "pseudonymised_transcript": "application/json",
    "detections": "application/json",
}


@dataclass
class RecordingFactory:
    """Inserts a Recording with consent evidence and encrypted artifacts of the given kinds."""

    session: Session
    runtime: Runtime
    policy_version: PolicyVersion
    made: list[Recording] = field(default_factory=list)

    def __call__(
        self,
        *,
        number: str | None = "+46701234567",
        expires_at: datetime | None = None,
        started_at: datetime | None = None,
        kinds: tuple[str, ...] = DEFAULT_KINDS,
        agent_id: str = "agent-0001",
        language: str = "sv",
        state: RecordingState = RecordingState.READY,
    ) -> Recording:
        now = self.runtime.clock.now()
        started = started_at or now - timedelta(days=1)
        call_id = f"CA{uuid.uuid4().hex}"
        keyring = self.runtime.keyring
        number = normalise_e164(number) if number else None  # as ingest stores it
        evidence = ConsentEvidence(
            call_id=call_id,
            digit="1",
            given_at=started,
            policy_version_id=self.policy_version.id,
            prompt_sha256="0" * 64,
            prompt_version="v1",
            language=language,
            caller_number_enc=seal(keyring, number, "consent.caller") if number else None,
            caller_number_hash=phone_lookup_hash(keyring, number) if number else None,
            source="ivr",
            created_at=started,
        )
        self.session.add(evidence)
        self.session.flush()
        recording = Recording(
            call_id=call_id,
            agent_id=agent_id,
            team="team-a",
            started_at=started,
            ended_at=started + timedelta(minutes=3),
            duration_s=180.0,
            sample_rate=8000,
            channel_layout=["caller", "agent"],
            caller_number_enc=seal(keyring, number, "recording.caller") if number else None,
            caller_number_hash=phone_lookup_hash(keyring, number) if number else None,
            language=language,
            consent_evidence_id=evidence.id,
            policy_version_id=self.policy_version.id,
            content_sha256="a" * 64,
            expires_at=expires_at or started + timedelta(days=90),
            state=state.value,
            created_at=started,
        )
        recording.purposes.append(RecordingPurpose(purpose_code="training"))
        self.session.add(recording)
        self.session.flush()
        for kind in kinds:
            payload = f"{kind} of {recording.id}".encode() * 10
            store_artifact(
                self.session,
                self.runtime,
                recording.id,
                kind,
                [payload],
                MEDIA_TYPES[kind],
                expires_at=recording.expires_at,  # as ingest does: the keys join its epoch
            )
        self.made.append(recording)
        return recording


def artifact_payload(kind: str, recording_id: uuid.UUID) -> bytes:
    """What the factory stored for this kind (for checking a decrypted export)."""
    return f"{kind} of {recording_id}".encode() * 10
