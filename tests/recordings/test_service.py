"""Ingest: accepted formats stored encrypted and complete; every refusal leaves nothing behind."""

from __future__ import annotations

import io
import json
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from callvault.audit.models import AuditEntry
from callvault.consent.models import ConsentEvidence
from callvault.errors import (
    CallvaultError,
    Conflict,
    ConsentMissing,
    InvalidAudio,
    InvalidInput,
    RetentionExpired,
    TooLarge,
    UnsupportedSampleRate,
)
from callvault.recordings.models import Recording, RecordingState
from callvault.recordings.service import (
    IngestResult,
    ingest_recording,
    parse_metadata,
    set_state,
)
from callvault.runtime import Runtime
from callvault.vault.fields import phone_lookup_hash, unseal
from callvault.vault.models import Artifact
from callvault.vault.service import artifact_kinds, open_artifact
from tests.recordings.synthetic import encode, meta, meta_doc, pcm16, tone, wav


def _ingest(
    session: Session, rt: Runtime, data: bytes, started: datetime, **kw: Any
) -> IngestResult:
    return ingest_recording(
        session,
        rt,
        io.BytesIO(data),
        meta(kw.pop("call_id", "call-1"), started, **kw),
        actor="system",
        source="cli",
    )


def _count(session: Session, table: Any) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(table)) or 0


def _nothing_left(session: Session, rt: Runtime) -> None:
    assert _count(session, Recording) == 0
    assert _count(session, Artifact) == 0
    assert _count(session, ConsentEvidence) == 0
    assert list(rt.blobs.names()) == []
    tmp = rt.settings.data_dir / "tmp"
    assert not tmp.exists() or list(tmp.iterdir()) == []


FORMATS = [
    ("WAV", "PCM_16", 2, True),
    ("WAV", "PCM_16", 1, True),
    ("WAV", "ULAW", 1, True),
    ("WAV", "PCM_24", 2, False),
    ("FLAC", "PCM_16", 2, True),
    ("OGG", "OPUS", 2, False),
    ("MP3", "MPEG_LAYER_III", 2, False),
]


@pytest.mark.parametrize(
    ("fmt", "subtype", "channels", "exact"),
    FORMATS,
    ids=[f"{f}-{s}-{c}ch" for f, s, c, _ in FORMATS],
)
def test_accepted_formats_are_kept_as_lossless_flac(
    session: Session,
    ingest_runtime: Runtime,
    started: datetime,
    fmt: str,
    subtype: str,
    channels: int,
    exact: bool,
) -> None:
    data = encode(tone(2.0, channels=channels), fmt, subtype)
    result = _ingest(session, ingest_runtime, data, started)
    assert result.created and result.state == RecordingState.INGESTED
    recording = session.get(Recording, result.id)
    assert recording is not None
    assert recording.sample_rate == 16000
    assert recording.duration_s == pytest.approx(2.0, abs=0.1)
    assert recording.channel_layout == (["agent", "customer"] if channels == 2 else ["mixed"])
    original = open_artifact(session, ingest_runtime, result.id, "original")
    assert original.media_type == "audio/flac"
    stored = original.read()
    assert stored[:4] == b"fLaC"
    if exact:
        assert np.array_equal(pcm16(stored), pcm16(data))
    if fmt == "FLAC":
        assert stored == data


def test_a_recording_row_holds_what_the_policy_requires(
    session: Session, ingest_runtime: Runtime, started: datetime
) -> None:
    result = _ingest(session, ingest_runtime, wav(1.5), started, purposes=["training"])
    rec = session.get(Recording, result.id)
    assert rec is not None
    assert (rec.call_id, rec.agent_id, rec.team, rec.language) == (
        "call-1",
        "agent-007",
        "support-1",
        "sv",
    )
    assert rec.started_at == started
    assert rec.ended_at == started + timedelta(seconds=1.5)
    assert rec.expires_at == started + timedelta(days=90)
    assert rec.purpose_codes == ["training"]
    assert rec.caller_number_enc is not None and b"46701234567" not in rec.caller_number_enc
    assert (
        unseal(ingest_runtime.keyring, rec.caller_number_enc, "recording.caller") == "+46701234567"
    )
    assert rec.caller_number_hash == phone_lookup_hash(ingest_runtime.keyring, "+46701234567")
    evidence = session.get(ConsentEvidence, rec.consent_evidence_id)
    assert evidence is not None and evidence.digit == "1" and evidence.call_id == "call-1"
    assert rec.policy_version_id == evidence.policy_version_id
    assert artifact_kinds(session, rec.id) == ["metadata", "original"]
    stored_meta = json.loads(open_artifact(session, ingest_runtime, rec.id, "metadata").read())
    assert stored_meta["customer"]["name"] == "Kalle Exempel"
    assert stored_meta["from"] == "+46701234567"


def test_ingest_is_audited_with_ids_only(
    session: Session, ingest_runtime: Runtime, started: datetime
) -> None:
    result = _ingest(session, ingest_runtime, wav(), started)
    entry = session.scalar(sa.select(AuditEntry).where(AuditEntry.object_id == str(result.id)))
    assert entry is not None
    assert (entry.action, entry.outcome, entry.actor, entry.source) == (
        "recording.ingest",
        "ok",
        "system",
        "cli",
    )
    text = json.dumps(entry.details)
    assert "46701234567" not in text and "Kalle" not in text


def _too_large(rt: Runtime) -> None:
    rt.settings.max_upload_bytes = 10_000


def _too_long(rt: Runtime) -> None:
    rt.settings.max_duration_s = 1.0


def _aiff() -> bytes:
    return encode(tone(1.0), "AIFF", "PCM_16")


def _three_channels() -> bytes:
    return encode(tone(1.0, channels=3))


def _corrupt_flac() -> bytes:
    data = bytearray(encode(tone(2.0), "FLAC", "PCM_16"))
    data[len(data) // 2] ^= 0xFF
    return bytes(data)


REFUSALS: list[tuple[str, Any, dict[str, Any], Any, type[CallvaultError]]] = [
    # (id, audio bytes or factory, metadata overrides, runtime tweak, error)
    ("no-consent", wav, {"consent": None}, None, ConsentMissing),
    (
        "pressed-2",
        wav,
        {"consent": {"digit": "2", "prompt_version": "v1", "at": "2026-03-02T07:59:00+00:00"}},
        None,
        ConsentMissing,
    ),
    (
        "no-digit",
        wav,
        {"consent": {"digit": None, "prompt_version": "v1", "at": "2026-03-02T07:59:00+00:00"}},
        None,
        ConsentMissing,
    ),
    (
        "consent-after-start",
        wav,
        {"consent": {"digit": "1", "prompt_version": "v1", "at": "2026-03-02T08:30:00+00:00"}},
        None,
        ConsentMissing,
    ),
    (
        "consent-80-days-before",
        wav,
        {"consent": {"digit": "1", "prompt_version": "v1", "at": "2025-12-12T08:00:00+00:00"}},
        None,
        ConsentMissing,
    ),
    (
        "consent-over-10-minutes-before",
        wav,
        {"consent": {"digit": "1", "prompt_version": "v1", "at": "2026-03-02T07:49:59+00:00"}},
        None,
        ConsentMissing,
    ),
    ("not-audio", lambda: b"%PDF-1.4 definitely not audio" * 100, {}, None, InvalidAudio),
    ("empty", lambda: b"", {}, None, InvalidAudio),
    ("header-only", lambda: wav()[:44], {}, None, InvalidAudio),
    ("truncated-wav", lambda: wav(2.0)[:30_000], {}, None, InvalidAudio),
    ("truncated-flac", lambda: encode(tone(2.0), "FLAC")[:20_000], {}, None, InvalidAudio),
    ("corrupt-flac", _corrupt_flac, {}, None, InvalidAudio),
    ("truncated-opus", lambda: encode(tone(2.0), "OGG", "OPUS")[:-200], {}, None, InvalidAudio),
    ("aiff-not-accepted", _aiff, {}, None, InvalidAudio),
    ("three-channels", _three_channels, {}, None, InvalidAudio),
    (
        "flac-at-655350-hz",
        lambda: encode(np.zeros((65535, 2)), "FLAC", rate=655350),
        {},
        None,
        UnsupportedSampleRate,
    ),
    ("wav-at-96-khz", lambda: wav(0.5, rate=96000), {}, None, UnsupportedSampleRate),
    ("over-size", lambda: wav(2.0), {}, _too_large, TooLarge),
    ("over-duration", lambda: wav(2.0), {}, _too_long, TooLarge),
    (
        "retention-over",
        wav,
        {
            "started_at": "2025-11-01T09:00:00+00:00",
            "consent": {"digit": "1", "prompt_version": "v1", "at": "2025-11-01T08:59:00+00:00"},
        },
        None,
        RetentionExpired,
    ),
    ("unknown-purpose", wav, {"purposes": ["marketing"]}, None, InvalidInput),
    ("bad-layout", wav, {"channel_layout": ["agent"]}, None, InvalidInput),
]


@pytest.mark.parametrize(
    ("make_audio", "overrides", "tweak", "error"),
    [r[1:] for r in REFUSALS],
    ids=[r[0] for r in REFUSALS],
)
def test_refusals_leave_no_row_no_blob_and_no_key(
    session: Session,
    ingest_runtime: Runtime,
    started: datetime,
    make_audio: Any,
    overrides: dict[str, Any],
    tweak: Any,
    error: type[CallvaultError],
) -> None:
    if tweak:
        tweak(ingest_runtime)
    data = make_audio()
    with pytest.raises(error):
        ingest_recording(
            session,
            ingest_runtime,
            io.BytesIO(data),
            meta("call-1", started, **overrides),
            actor="system",
            source="cli",
        )
    _nothing_left(session, ingest_runtime)
    refused = session.scalars(
        sa.select(AuditEntry).where(AuditEntry.action == "recording.ingest")
    ).all()
    assert [(e.outcome, e.reason) for e in refused] == [("refused", error.code)]


def test_audio_at_48_khz_is_accepted(
    session: Session, ingest_runtime: Runtime, started: datetime
) -> None:
    assert _ingest(session, ingest_runtime, wav(0.5, rate=48000), started).created


def test_consent_given_in_the_call_up_to_10_minutes_before_it_started_is_accepted(
    session: Session, ingest_runtime: Runtime, started: datetime
) -> None:
    at = (started - timedelta(minutes=10)).isoformat()
    result = _ingest(
        session,
        ingest_runtime,
        wav(),
        started,
        consent={"digit": "1", "prompt_version": "v1", "at": at},
    )
    assert result.created


def test_consent_from_before_the_call_is_refused_with_a_clear_message(
    session: Session, ingest_runtime: Runtime, started: datetime
) -> None:
    at = (started - timedelta(days=80)).isoformat()
    with pytest.raises(ConsentMissing, match="more than 10 minutes before the call started"):
        _ingest(
            session,
            ingest_runtime,
            wav(),
            started,
            consent={"digit": "1", "prompt_version": "v1", "at": at},
        )


def test_the_same_call_sent_again_returns_the_existing_recording(
    session: Session, ingest_runtime: Runtime, started: datetime
) -> None:
    first = _ingest(session, ingest_runtime, wav(seed=1), started)
    blobs = sorted(ingest_runtime.blobs.names())
    again = _ingest(session, ingest_runtime, wav(seed=1), started)
    assert (again.id, again.created) == (first.id, False)
    assert sorted(ingest_runtime.blobs.names()) == blobs
    assert _count(session, Recording) == 1


@pytest.mark.parametrize(
    ("audio_seed", "overrides"),
    [(2, {}), (1, {"team": "support-2"}), (1, {"customer": None})],
    ids=["other-audio", "other-team", "other-customer"],
)
def test_the_same_call_id_with_other_content_is_a_conflict(
    session: Session,
    ingest_runtime: Runtime,
    started: datetime,
    audio_seed: int,
    overrides: dict[str, Any],
) -> None:
    _ingest(session, ingest_runtime, wav(seed=1), started)
    blobs = sorted(ingest_runtime.blobs.names())
    with pytest.raises(Conflict):
        _ingest(session, ingest_runtime, wav(seed=audio_seed), started, **overrides)
    assert sorted(ingest_runtime.blobs.names()) == blobs
    assert _count(session, Recording) == 1


class _Pipe(io.RawIOBase):
    """A stream that cannot seek, like a socket."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        chunk = self._data.read(len(buffer))
        buffer[: len(chunk)] = chunk
        return len(chunk)


def test_an_unseekable_upload_is_spooled_to_disk_and_ingested(
    session: Session, ingest_runtime: Runtime, started: datetime
) -> None:
    data = wav(1.0, seed=3)
    result = ingest_recording(
        session,
        ingest_runtime,
        _Pipe(data),  # type: ignore[arg-type]
        meta("call-1", started),
        actor="system",
        source="cli",
    )
    stored = open_artifact(session, ingest_runtime, result.id, "original").read()
    assert np.array_equal(pcm16(stored), pcm16(data))
    assert list((ingest_runtime.settings.data_dir / "tmp").iterdir()) == []


def test_keep_original_format_stores_the_upload_bytes(
    session: Session, ingest_runtime: Runtime, started: datetime
) -> None:
    ingest_runtime.settings.keep_original_format = True
    data = encode(tone(1.0), "OGG", "OPUS")
    result = _ingest(session, ingest_runtime, data, started)
    reader = open_artifact(session, ingest_runtime, result.id, "original")
    assert (reader.media_type, reader.read()) == ("audio/ogg", data)


def test_ivr_consent_evidence_for_the_call_is_reused(
    session: Session, ingest_runtime: Runtime, started: datetime
) -> None:
    from callvault.consent.service import record_consent
    from callvault.policy.service import version_in_force

    ivr = record_consent(
        session,
        ingest_runtime,
        call_id="call-1",
        digit="1",
        given_at=started,
        policy_version=version_in_force(session, started),
        prompt_version="ivr-1",
        played_prompt_sha256="0" * 64,
        language="sv",
        caller_e164="+46701234567",
        source="ivr",
    )
    result = _ingest(session, ingest_runtime, wav(), started)
    rec = session.get(Recording, result.id)
    assert rec is not None and rec.consent_evidence_id == ivr.id


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        (b"not json", "json_invalid"),
        (json.dumps({"call_id": "x"}).encode(), "agent: missing"),
        (
            json.dumps(
                {
                    **meta_doc("c", datetime(2026, 3, 2).astimezone()),
                    "started_at": "2026-03-02T09:00:00",
                }
            ).encode(),
            "started_at: timezone_aware",
        ),
        (
            json.dumps(
                {**meta_doc("c", datetime(2026, 3, 2).astimezone()), "call_id": "a b"}
            ).encode(),
            "call_id",
        ),
        (
            json.dumps(
                {**meta_doc("c", datetime(2026, 3, 2).astimezone()), "extra": "+46701234567"}
            ).encode(),
            "extra: extra_forbidden",
        ),
    ],
    ids=["not-json", "missing-fields", "naive-time", "bad-call-id", "unknown-field"],
)
def test_bad_metadata_is_refused_without_echoing_values(raw: bytes, fragment: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_metadata(raw)
    assert fragment in caught.value.message
    assert "46701234567" not in caught.value.message


TRANSITIONS = [
    ("ingested", "processing", True),
    ("processing", "ready", True),
    ("processing", "ingested", True),
    ("ready", "processing", True),
    ("ready", "deleting", True),
    ("deleting", "deleted", True),
    ("ready", "ready", True),
    ("ingested", "ready", False),
    ("deleted", "ready", False),
    ("deleting", "ready", False),
]


@pytest.mark.parametrize(
    ("start", "target", "allowed"), TRANSITIONS, ids=[f"{a}-{b}" for a, b, _ in TRANSITIONS]
)
def test_state_moves_only_along_the_lifecycle(
    session: Session,
    ingest_runtime: Runtime,
    started: datetime,
    start: str,
    target: str,
    allowed: bool,
) -> None:
    rec = session.get(Recording, _ingest(session, ingest_runtime, wav(), started).id)
    assert rec is not None
    rec.state = start
    if allowed:
        set_state(session, rec, target)
        assert rec.state == target
    else:
        with pytest.raises(Conflict):
            set_state(session, rec, target)
        assert rec.state == start


def test_ingest_stores_into_s3_compatible_storage(
    session: Session, ingest_runtime: Runtime, started: datetime, s3_url: str
) -> None:
    from callvault.vault.storage import open_blob_store

    ingest_runtime.__dict__["blobs"] = open_blob_store(s3_url)
    data = wav(1.0, seed=9)
    result = _ingest(session, ingest_runtime, data, started)
    stored = open_artifact(session, ingest_runtime, result.id, "original").read()
    assert np.array_equal(pcm16(stored), pcm16(data))
    assert len(list(ingest_runtime.blobs.names())) == 2


@pytest.mark.parametrize(
    ("withdrawn_after_start_s", "kept"),
    [(-60.0, True), (0.0, False), (30.0, False)],
    ids=["withdrew-before-this-call", "withdrew-as-it-started", "withdrew-during-the-call"],
)
def test_a_withdrawal_during_or_after_the_call_refuses_its_recording(
    session: Session,
    ingest_runtime: Runtime,
    started: datetime,
    withdrawn_after_start_s: float,
    kept: bool,
) -> None:
    from callvault.clock import FixedClock
    from callvault.withdrawal.service import withdraw

    clock = ingest_runtime.clock
    assert isinstance(clock, FixedClock)
    now = clock.now()
    clock.set(started + timedelta(seconds=withdrawn_after_start_s))
    withdraw(session, ingest_runtime, number="070-123 45 67", actor="system", channel="cli")
    clock.set(now)
    data = wav(2.0)
    if kept:
        assert _ingest(session, ingest_runtime, data, started).created
    else:
        with pytest.raises(ConsentMissing):
            _ingest(session, ingest_runtime, data, started)
        _nothing_left(session, ingest_runtime)


def test_ivr_evidence_of_the_same_call_may_precede_a_late_answer_but_posted_consent_may_not(
    session: Session, ingest_runtime: Runtime, started: datetime
) -> None:
    """The IVR's saved press (bound to the call id) may come long before the agent answers; a
    consent time merely posted with the metadata may not."""
    from callvault.consent.service import prompt_sha256, record_consent
    from callvault.policy.service import version_in_force

    pressed = started - timedelta(minutes=25)
    version = version_in_force(session, started)
    record_consent(
        session,
        ingest_runtime,
        call_id="call-ivr",
        digit="1",
        given_at=pressed,
        policy_version=version,
        prompt_version="v1",
        played_prompt_sha256=prompt_sha256(version.prompt_sv),
        language="sv",
        caller_e164="+46701234567",
        source="ivr",
    )
    consent = {"digit": "1", "prompt_version": "v1", "at": pressed.isoformat()}
    assert _ingest(session, ingest_runtime, wav(), started, call_id="call-ivr", consent=consent)
    with pytest.raises(ConsentMissing):
        _ingest(session, ingest_runtime, wav(seed=2), started, call_id="call-api", consent=consent)
