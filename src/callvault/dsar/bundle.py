"""The DSAR export bundle: a ZIP of decrypted audio, transcripts, JSON and the readable report.

Nothing of anybody else goes in: the agent's name and id are left out of the metadata, who had
access is shown by role, and an employee's bundle lists the calls they handled without copying
them, because those recordings are the callers' personal data too (Art. 15(4)).
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Callable
from datetime import datetime
from typing import IO, Any

import structlog
from sqlalchemy.orm import Session

from callvault.dsar.gather import SubjectData
from callvault.dsar.report import render_html, render_pdf, report_context
from callvault.errors import CallvaultError
from callvault.recordings.models import Recording
from callvault.runtime import Runtime
from callvault.training.rights import clip_json

log = structlog.get_logger(__name__)

AUDIO_KINDS = ("original", "pseudonymised_audio")  # the first present is exported
TRANSCRIPT_KINDS = ("transcript", "pseudonymised_transcript")
# Fields of the posted call metadata that are the caller's own (the agent's are not).
CALLER_METADATA_FIELDS = ("from", "customer", "language", "started_at", "consent", "purposes")


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _json_bytes(value: object) -> bytes:
    return json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True).encode("utf-8")


def write_bundle(
    session: Session, runtime: Runtime, data: SubjectData, out: IO[bytes], *, now: datetime
) -> dict[str, Any]:
    """Write the ZIP to `out`; returns the manifest (file name -> sha256 and size)."""
    manifest: dict[str, dict[str, Any]] = {}
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True) as zf:

        def add(name: str, payload: bytes, compress: bool = True) -> None:
            zf.writestr(
                name,
                payload,
                compress_type=zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED,
            )
            manifest[name] = {"sha256": hashlib.sha256(payload).hexdigest(), "size": len(payload)}

        if data.is_caller:
            for recording in data.recordings:
                _add_recording(session, runtime, recording, zf, manifest)
            for clip in data.clips:
                _add_clip(session, runtime, clip, add)
            add("consent_evidence.json", _json_bytes(_evidence_json(runtime, data)))
            add("withdrawals.json", _json_bytes(_withdrawals_json(data)))
            add("deletions.json", _json_bytes(_deletions_json(data)))
        else:
            add("recordings.json", _json_bytes([_recording_json(r) for r in data.recordings]))
            add("own_activity.json", _json_bytes(_own_activity_json(data)))
            add(
                "evaluations.json",
                _json_bytes({"about_you": data.evaluations, "written": data.evaluations_written}),
            )
            # the clips of calls they handled: what they are, never the caller's audio
            add("training_clips.json", _json_bytes([clip_json(c) for c in data.clips]))
        add("access_log.json", _json_bytes(_access_json(data)))
        context = report_context(session, runtime, data, generated_at=now)
        add("report.html", render_html(context).encode("utf-8"))
        add("report.pdf", render_pdf(context), compress=False)
        add("manifest.json", _json_bytes(manifest))
    return manifest


def _add_recording(
    session: Session,
    runtime: Runtime,
    recording: Recording,
    zf: zipfile.ZipFile,
    manifest: dict[str, dict[str, Any]],
) -> None:
    from callvault.vault.service import artifact_kinds, open_artifact

    kinds = set(artifact_kinds(session, recording.id))
    folder = f"recordings/{recording.id}"
    audio = next((k for k in AUDIO_KINDS if k in kinds), None)
    if audio is not None:
        name = f"{folder}/audio.flac"
        reader = open_artifact(session, runtime, recording.id, audio)
        digest, size = hashlib.sha256(), 0
        with zf.open(zipfile.ZipInfo(name), "w", force_zip64=True) as target:
            for chunk in reader.iter():
                target.write(chunk)
                digest.update(chunk)
                size += len(chunk)
        manifest[name] = {"sha256": digest.hexdigest(), "size": size, "variant": audio}
    for kind in TRANSCRIPT_KINDS:
        if kind in kinds:
            payload = b"".join(open_artifact(session, runtime, recording.id, kind).iter())
            name = f"{folder}/{kind}.json"
            zf.writestr(name, payload)
            manifest[name] = {"sha256": hashlib.sha256(payload).hexdigest(), "size": len(payload)}
    metadata = _recording_json(recording)
    if "metadata" in kinds:
        metadata["call"] = _caller_metadata(session, runtime, recording)
    payload = _json_bytes(metadata)
    zf.writestr(f"{folder}/metadata.json", payload)
    manifest[f"{folder}/metadata.json"] = {
        "sha256": hashlib.sha256(payload).hexdigest(),
        "size": len(payload),
    }


def _add_clip(
    session: Session, runtime: Runtime, clip: Any, add: Callable[[str, bytes], None]
) -> None:
    """A training clip cut from the caller's call: its audio, transcript and what it is."""
    from callvault.training.render import CLIP_AUDIO, CLIP_TRANSCRIPT
    from callvault.vault.service import has_artifact, open_artifact

    folder = f"training_clips/{clip.id}"
    if has_artifact(session, clip.id, CLIP_AUDIO):
        add(f"{folder}/audio.flac", open_artifact(session, runtime, clip.id, CLIP_AUDIO).read())
    if has_artifact(session, clip.id, CLIP_TRANSCRIPT):
        reader = open_artifact(session, runtime, clip.id, CLIP_TRANSCRIPT)
        add(f"{folder}/transcript.json", reader.read())
    add(f"{folder}/metadata.json", _json_bytes(clip_json(clip)))


def _recording_json(recording: Recording) -> dict[str, Any]:
    return {
        "recording_id": str(recording.id),
        "started_at": _iso(recording.started_at),
        "ended_at": _iso(recording.ended_at),
        "duration_s": recording.duration_s,
        "language": recording.language,
        "purposes": recording.purpose_codes,
        "policy_version_id": str(recording.policy_version_id),
        "expires_at": _iso(recording.expires_at),
        "state": recording.state,
    }


def _caller_metadata(session: Session, runtime: Runtime, recording: Recording) -> dict[str, Any]:
    """The caller's part of the posted call metadata (their number, name, e-mail, address)."""
    from callvault.vault.service import open_artifact

    try:
        raw = b"".join(open_artifact(session, runtime, recording.id, "metadata").iter())
        posted = json.loads(raw)
    except (CallvaultError, ValueError):
        log.warning("dsar_metadata_unreadable", recording_id=str(recording.id))
        return {}
    if not isinstance(posted, dict):
        return {}
    return {k: posted[k] for k in CALLER_METADATA_FIELDS if k in posted}


def _evidence_json(runtime: Runtime, data: SubjectData) -> list[dict[str, Any]]:
    from callvault.vault.fields import unseal

    rows = []
    for evidence in data.consent_evidence:
        number = None
        if evidence.caller_number_enc:
            try:
                number = unseal(runtime.keyring, evidence.caller_number_enc, "consent.caller")
            except CallvaultError:
                number = None
        rows.append(
            {
                "consent_evidence_id": str(evidence.id),
                "given_at": _iso(evidence.given_at),
                "digit": evidence.digit,
                "policy_version_id": str(evidence.policy_version_id),
                "prompt_version": evidence.prompt_version,
                "prompt_sha256": evidence.prompt_sha256,
                "language": evidence.language,
                "caller_number": number,
                "source": evidence.source,
            }
        )
    return rows


def _withdrawals_json(data: SubjectData) -> list[dict[str, Any]]:
    return [
        {
            "reference": w.reference,
            "registered_at": _iso(w.registered_at),
            "by": w.by,
            "channel": w.channel,
        }
        for w in data.withdrawals
    ]


def _deletions_json(data: SubjectData) -> list[dict[str, Any]]:
    return [
        {
            "recording_id": str(d.recording_id),
            "reason": d.reason,
            "due_at": _iso(d.due_at),
            "deleted_at": _iso(d.deleted_at),
            "removed": d.removed,
        }
        for d in data.deletions
    ]


def _access_json(data: SubjectData) -> list[dict[str, Any]]:
    return [
        {
            "at": _iso(e.at),
            "role": data.roles.get(e.actor, "unknown"),
            "action": e.action,
            "object_type": e.object_type,
            "object_id": e.object_id,
            "reason": e.reason,
            "outcome": e.outcome,
            **({"ranges": data.play_ranges.get(e.seq, [])} if e.action == "recording.play" else {}),
        }
        for e in data.access_log
    ]


def _own_activity_json(data: SubjectData) -> list[dict[str, Any]]:
    return [
        {
            "at": _iso(e.at),
            "action": e.action,
            "object_type": e.object_type,
            "object_id": e.object_id,
            "reason": e.reason,
            "source": e.source,
            "outcome": e.outcome,
        }
        for e in data.own_activity
    ]
