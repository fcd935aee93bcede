"""`callvault keys rotate` after ingest: keys and sealed caller numbers move, audio stays put."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from datetime import datetime

import pytest
import structlog
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from callvault.cli import app
from callvault.consent.models import ConsentEvidence
from callvault.recordings.models import Recording
from callvault.recordings.service import ingest_recording
from callvault.runtime import Runtime
from callvault.vault.fields import sealed_kek_id, unseal
from callvault.vault.service import open_artifact
from tests.recordings.synthetic import meta, wav


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    yield
    structlog.reset_defaults()


def test_rotate_moves_data_keys_and_sealed_fields_to_the_new_key(
    session: Session, ingest_runtime: Runtime, started: datetime
) -> None:
    ids = [
        ingest_recording(
            session,
            ingest_runtime,
            io.BytesIO(wav(seed=i)),
            meta(f"rot-{i}", started),
            actor="system",
            source="cli",
        ).id
        for i in range(3)
    ]
    session.commit()
    digests = {
        name: hashlib.sha256(b"".join(ingest_runtime.blobs.get(name))).hexdigest()
        for name in ingest_runtime.blobs.names()
    }
    result = CliRunner().invoke(app, ["keys", "rotate"])
    assert result.exit_code == 0, result.output
    assert "re-wrapped 6 data keys and 6 sealed fields" in result.stdout
    active = ingest_runtime.keyring.active_kek_id()
    session.expire_all()
    for rec_id in ids:
        rec = session.get(Recording, rec_id)
        assert rec is not None and rec.caller_number_enc is not None
        # A recording's number is sealed in its key epoch: rotation moves it to the epoch's
        # new KEK, never out of the epoch.
        kek = sealed_kek_id(rec.caller_number_enc)
        assert kek != active and ingest_runtime.keyring.current_kek_for(kek) == kek
        assert kek in [s.kek_ids[-1] for s in ingest_runtime.keyring.epochs()]
        assert all(len(e.kek_ids) == 2 for e in ingest_runtime.keyring.epochs())
        assert (
            unseal(ingest_runtime.keyring, rec.caller_number_enc, "recording.caller")
            == "+46701234567"
        )
        evidence = session.get(ConsentEvidence, rec.consent_evidence_id)
        assert evidence is not None and evidence.caller_number_enc is not None
        evidence_kek = sealed_kek_id(evidence.caller_number_enc)  # in its key epoch too
        assert evidence_kek != active
        assert ingest_runtime.keyring.current_kek_for(evidence_kek) == evidence_kek
        assert open_artifact(session, ingest_runtime, rec_id, "original").read()[:4] == b"fLaC"
    assert {
        name: hashlib.sha256(b"".join(ingest_runtime.blobs.get(name))).hexdigest()
        for name in ingest_runtime.blobs.names()
    } == digests
