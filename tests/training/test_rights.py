"""DSAR: a caller gets the clips cut from their calls; an employee a list without the audio."""

from __future__ import annotations

import io
import json
import zipfile

from sqlalchemy.orm import Session

from callvault.accounts.models import Account
from callvault.accounts.roles import Role
from callvault.dsar.service import build_bundle, open_bundle, open_request
from callvault.runtime import Runtime
from callvault.training import service
from callvault.vault.fields import phone_lookup_hash
from tests.access.conftest import MakeAccount, principal_of
from tests.training.conftest import MakeCall

NUMBER = "+46701234567"


def _bundle(session: Session, runtime: Runtime, **subject: object) -> zipfile.ZipFile:
    request = open_request(session, runtime, actor="system", source="test", **subject)  # type: ignore[arg-type]
    build_bundle(session, runtime, request.id, actor="system", source="test")
    reader = open_bundle(session, runtime, request.id, actor="system", source="test")
    return zipfile.ZipFile(io.BytesIO(reader.read()))


def test_dsar_includes_clips_for_the_caller_and_lists_them_for_the_agent(
    session: Session,
    runtime: Runtime,
    author: Account,
    make_account: MakeAccount,
    make_call: MakeCall,
) -> None:
    agent = make_account(Role.AGENT)
    recording = make_call(agent_id=str(agent.id))
    recording.caller_number_hash = phone_lookup_hash(runtime.keyring, NUMBER)
    session.flush()
    clip = service.cut_clip(
        session,
        runtime,
        principal_of(author),
        recording_id=recording.id,
        start=3,
        end=9,
        title="Faktura",
        tags=["faktura"],
        lesson="Förklara fakturans rader.",
    )
    caller = _bundle(session, runtime, number="070-123 45 67")
    names = caller.namelist()
    assert f"training_clips/{clip.id}/audio.flac" in names
    assert f"training_clips/{clip.id}/transcript.json" in names
    meta = json.loads(caller.read(f"training_clips/{clip.id}/metadata.json"))
    assert meta["recording_id"] == str(recording.id) and meta["tags"] == ["faktura"]

    employee = _bundle(session, runtime, account_id=agent.id)
    listed = json.loads(employee.read("training_clips.json"))
    assert [c["clip_id"] for c in listed] == [str(clip.id)]
    assert not any(n.startswith("training_clips/") for n in employee.namelist())
    assert not any(n.endswith(".flac") for n in employee.namelist())
