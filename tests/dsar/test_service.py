"""DSAR: deadlines, the lifecycle, a complete bundle with nothing of anybody else, and purging."""

from __future__ import annotations

import io
import json
import uuid
import zipfile
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from callvault.access.models import PlaySession
from callvault.accounts.models import Account
from callvault.audit.service import record
from callvault.clock import FixedClock
from callvault.dsar.models import DataSubjectRequest
from callvault.dsar.service import (
    BUNDLE_KIND,
    build_bundle,
    close,
    deliver,
    due_soon,
    one_month_after,
    open_bundle,
    open_request,
    purge_expired_bundles,
)
from callvault.errors import Conflict, InvalidInput, NotFound
from callvault.runtime import Runtime
from callvault.vault.fields import phone_lookup_hash
from callvault.vault.models import Artifact
from callvault.vault.service import has_artifact
from callvault.withdrawal.service import withdraw
from callvault.worker.queue import immediate
from tests.retention.factory import RecordingFactory, artifact_payload

SUBJECT = "+46701234567"
OTHER = "+46709876543"


def read_bundle(session: Session, runtime: Runtime, request: DataSubjectRequest) -> zipfile.ZipFile:
    reader = open_bundle(session, runtime, request.id, actor="system", source="test")
    return zipfile.ZipFile(io.BytesIO(b"".join(reader.iter())))


def open_for_caller(session: Session, runtime: Runtime, number: str, language: str = "sv"):  # type: ignore[no-untyped-def]
    return open_request(
        session, runtime, number=number, language=language, actor="system", source="test"
    )


@pytest.mark.parametrize(
    ("received", "deadline"),
    [
        (datetime(2026, 3, 2, 9, 0, tzinfo=UTC), datetime(2026, 4, 2, 9, 0, tzinfo=UTC)),
        (datetime(2026, 1, 31, 9, 0, tzinfo=UTC), datetime(2026, 2, 28, 9, 0, tzinfo=UTC)),
        (datetime(2028, 1, 31, 9, 0, tzinfo=UTC), datetime(2028, 2, 29, 9, 0, tzinfo=UTC)),
        (datetime(2026, 3, 31, 9, 0, tzinfo=UTC), datetime(2026, 4, 30, 9, 0, tzinfo=UTC)),
        (datetime(2026, 12, 15, 9, 0, tzinfo=UTC), datetime(2027, 1, 15, 9, 0, tzinfo=UTC)),
    ],
)
def test_deadline_is_one_month_after_receipt(received: datetime, deadline: datetime) -> None:
    assert one_month_after(received) == deadline


@pytest.mark.parametrize(
    ("days_after_receipt", "warned"),
    [(0, False), (23, False), (24, True), (31, True), (40, True)],
    ids=["new", "eight-days-left", "seven-days-left", "due-today", "overdue"],
)
def test_dashboard_warns_a_week_before_the_deadline(
    session: Session,
    vault_runtime: Runtime,
    clock: FixedClock,
    days_after_receipt: int,
    warned: bool,
) -> None:
    clock.set(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))  # deadline 2026-04-02: 31 days
    request = open_for_caller(session, vault_runtime, SUBJECT)
    clock.advance(days=days_after_receipt)
    assert (request in due_soon(session, clock.now())) is warned


def test_an_answered_request_is_not_warned_about(
    session: Session, vault_runtime: Runtime, clock: FixedClock
) -> None:
    request = open_for_caller(session, vault_runtime, SUBJECT)
    build_bundle(session, vault_runtime, request.id, actor="system", source="test")
    deliver(session, vault_runtime, request.id, actor="system", source="test")
    clock.advance(days=40)
    assert due_soon(session, clock.now()) == []


def test_bundle_is_complete_and_holds_nothing_of_anybody_else(
    session: Session, vault_runtime: Runtime, make_recording: RecordingFactory
) -> None:
    mine = [
        make_recording(number="070-123 45 67", kinds=("original", "metadata", "transcript")),
        make_recording(number="0046701234567", kinds=("pseudonymised_audio",)),
    ]
    theirs = make_recording(number=OTHER, kinds=("original", "transcript"))
    other_hash = phone_lookup_hash(vault_runtime.keyring, OTHER)
    request = open_for_caller(session, vault_runtime, "+46 70 123 45 67")

    build_bundle(session, vault_runtime, request.id, actor="system", source="test")
    bundle = read_bundle(session, vault_runtime, request)

    names = set(bundle.namelist())
    folders = {n.split("/")[1] for n in names if n.startswith("recordings/")}
    assert folders == {str(r.id) for r in mine}
    first, second = (f"recordings/{r.id}" for r in mine)
    assert bundle.read(f"{first}/audio.flac") == artifact_payload("original", mine[0].id)
    assert bundle.read(f"{first}/transcript.json") == artifact_payload("transcript", mine[0].id)
    assert bundle.read(f"{second}/audio.flac") == artifact_payload(
        "pseudonymised_audio", mine[1].id
    )
    assert {"report.html", "report.pdf", "consent_evidence.json", "access_log.json"} <= names
    evidence = json.loads(bundle.read("consent_evidence.json"))
    assert len(evidence) == 2 and {e["caller_number"] for e in evidence} == {SUBJECT}
    assert bundle.read("report.pdf").startswith(b"%PDF")
    everything = b"".join(bundle.read(n) for n in names if n != "report.pdf")
    for foreign in (str(theirs.id), theirs.call_id, OTHER, other_hash, "agent-0001"):
        assert foreign.encode() not in everything


def test_bundle_report_is_in_the_subjects_language(
    session: Session, vault_runtime: Runtime, make_recording: RecordingFactory
) -> None:
    make_recording(number=SUBJECT)
    html = {}
    for language in ("sv", "en"):
        request = open_for_caller(session, vault_runtime, SUBJECT, language)
        build_bundle(session, vault_runtime, request.id, actor="system", source="test")
        html[language] = read_bundle(session, vault_runtime, request).read("report.html").decode()
    assert '<html lang="sv">' in html["sv"] and "Registerutdrag" in html["sv"]
    assert "Integritetsskyddsmyndigheten" in html["sv"]
    assert '<html lang="en">' in html["en"] and "Copy of your personal data" in html["en"]
    assert "Swedish Authority for Privacy Protection" in html["en"]
    for page in html.values():
        assert "6(1)(a)" in page or "6.1 a" in page


def test_bundle_lists_withdrawals_deletions_and_who_had_access_by_role(
    session: Session,
    vault_runtime: Runtime,
    make_recording: RecordingFactory,
    make_account: Callable[..., Account],
) -> None:
    kept = make_recording(number=SUBJECT)
    manager = make_account(role="qa_manager")
    played = record(
        session,
        actor=f"account:{manager.id}",
        action="recording.play",
        object_type="recording",
        object_id=str(kept.id),
        reason="quality review",
        source="127.0.0.1",
    )
    # the listen that entry began, with the parts the player fetched (access.plays)
    session.add(
        PlaySession(
            key="k" * 64,
            open_key=None,
            actor=f"account:{manager.id}",
            recording_id=kept.id,
            audit_seq=played.seq,
            started_at=played.at,
            last_at=played.at,
            ranges=[[0, 4096], [65536, 131072]],
        )
    )
    with immediate():
        withdrawal = withdraw(session, vault_runtime, number=SUBJECT, actor="system", channel="ivr")
    later = make_recording(number=SUBJECT)  # a new call after the withdrawal, with new consent
    request = open_for_caller(session, vault_runtime, SUBJECT, "en")
    build_bundle(session, vault_runtime, request.id, actor="system", source="test")
    bundle = read_bundle(session, vault_runtime, request)

    assert [w["reference"] for w in json.loads(bundle.read("withdrawals.json"))] == [
        withdrawal.reference
    ]
    deletions = json.loads(bundle.read("deletions.json"))
    assert [d["recording_id"] for d in deletions] == [str(kept.id)]
    access = json.loads(bundle.read("access_log.json"))
    plays = [a for a in access if a["action"] == "recording.play"]
    assert plays == [
        {
            "at": plays[0]["at"],
            "role": "qa_manager",
            "action": "recording.play",
            "object_type": "recording",
            "object_id": str(kept.id),
            "reason": "quality review",
            "outcome": "ok",
            "ranges": [[0, 4096], [65536, 131072]],
        }
    ]
    assert str(manager.id) not in bundle.read("access_log.json").decode()
    assert f"recordings/{later.id}/audio.flac" in bundle.namelist()
    # The report names the role (in the subject's language); the JSON keeps the code.
    assert "Quality assurance manager" in bundle.read("report.html").decode()


def test_employee_bundle_lists_calls_and_own_history_without_copying_callers_data(
    session: Session,
    vault_runtime: Runtime,
    make_recording: RecordingFactory,
    make_account: Callable[..., Account],
) -> None:
    agent = make_account(role="agent")
    handled = make_recording(number=SUBJECT, agent_id=str(agent.id))
    make_recording(number=OTHER, agent_id="someone-else")
    record(
        session,
        actor=f"account:{agent.id}",
        action="withdrawal.register",
        object_type="withdrawal",
        object_id=str(uuid.uuid4()),
        source="127.0.0.1",
    )
    request = open_request(
        session, vault_runtime, account_id=agent.id, language="sv", actor="system", source="test"
    )
    build_bundle(session, vault_runtime, request.id, actor="system", source="test")
    bundle = read_bundle(session, vault_runtime, request)

    assert not [n for n in bundle.namelist() if n.startswith("recordings/")]
    listed = json.loads(bundle.read("recordings.json"))
    assert [r["recording_id"] for r in listed] == [str(handled.id)]
    activity = json.loads(bundle.read("own_activity.json"))
    assert [a["action"] for a in activity] == ["withdrawal.register"]
    assert SUBJECT.encode() not in b"".join(
        bundle.read(n) for n in bundle.namelist() if n != "report.pdf"
    )


def test_lifecycle_open_build_deliver_close(
    session: Session, vault_runtime: Runtime, make_recording: RecordingFactory
) -> None:
    make_recording(number=SUBJECT)
    request = open_for_caller(session, vault_runtime, SUBJECT)
    assert request.status == "open"
    with pytest.raises(Conflict):
        deliver(session, vault_runtime, request.id, actor="system", source="test")
    built = build_bundle(session, vault_runtime, request.id, actor="system", source="test")
    assert request.status == "in_progress" and built.size == request.bundle_size
    assert deliver(session, vault_runtime, request.id, actor="system", source="test").status == (
        "delivered"
    )
    with pytest.raises(Conflict):
        build_bundle(session, vault_runtime, request.id, actor="system", source="test")
    assert close(session, vault_runtime, request.id, actor="system", source="test").status == (
        "closed"
    )
    assert close(session, vault_runtime, request.id, actor="system", source="test").closed_at


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"number": SUBJECT, "account_id": uuid.uuid4()},
        {"number": SUBJECT, "language": "de"},
        {"account_id": uuid.uuid4()},
    ],
    ids=["no-subject", "two-subjects", "unknown-language", "unknown-account"],
)
def test_open_refuses_what_it_cannot_answer(
    session: Session, vault_runtime: Runtime, kwargs: dict[str, object]
) -> None:
    with pytest.raises((InvalidInput, NotFound)):
        open_request(session, vault_runtime, actor="system", source="test", **kwargs)  # type: ignore[arg-type,unused-ignore]


@pytest.mark.parametrize(("offset_s", "purged"), [(-1, False), (1, True)])
def test_bundle_is_shredded_thirty_days_after_delivery(
    session: Session,
    vault_runtime: Runtime,
    clock: FixedClock,
    make_recording: RecordingFactory,
    offset_s: int,
    purged: bool,
) -> None:
    make_recording(number=SUBJECT)
    request = open_for_caller(session, vault_runtime, SUBJECT)
    build_bundle(session, vault_runtime, request.id, actor="system", source="test")
    deliver(session, vault_runtime, request.id, actor="system", source="test")
    session.commit()
    blob = session.scalar(sa.select(Artifact.blob_name).where(Artifact.owner_id == request.id))
    clock.advance(days=30, seconds=offset_s)

    assert purge_expired_bundles(vault_runtime) == int(purged)

    session.expire_all()
    assert has_artifact(session, request.id, BUNDLE_KIND) is not purged
    assert vault_runtime.blobs.exists(str(blob)) is not purged
    if purged:
        with pytest.raises(NotFound):
            open_bundle(session, vault_runtime, request.id, actor="system", source="test")
        refreshed = session.get(DataSubjectRequest, request.id)
        assert refreshed is not None and refreshed.bundle_blobs_pending == []


def test_the_shredding_date_is_known_from_delivery_until_it_happens(
    session: Session, vault_runtime: Runtime, clock: FixedClock, make_recording: RecordingFactory
) -> None:
    from datetime import timedelta

    from callvault.dsar.service import bundle_shred_due, case_note

    make_recording(number=SUBJECT)
    request = open_request(
        session, vault_runtime, number=SUBJECT, actor="system", source="test",
        note="  Via   e-post  ",
    )  # fmt: skip
    assert request.subject_number_tail == "4567"
    assert case_note(vault_runtime, request) == "Via e-post"
    build_bundle(session, vault_runtime, request.id, actor="system", source="test")
    # built, not delivered: shredded 30 days after building at the latest (issue 16.1)
    assert bundle_shred_due(request) == clock.now() + timedelta(days=30)
    clock.advance(days=1)
    deliver(session, vault_runtime, request.id, actor="system", source="test")
    assert bundle_shred_due(request) == clock.now() + timedelta(days=30)
    session.commit()
    clock.advance(days=30)
    purge_expired_bundles(vault_runtime)
    session.expire_all()
    refreshed = session.get(DataSubjectRequest, request.id)
    assert refreshed is not None and bundle_shred_due(refreshed) is None


def test_a_case_note_longer_than_200_characters_is_refused(
    session: Session, vault_runtime: Runtime
) -> None:
    with pytest.raises(InvalidInput):
        open_request(
            session, vault_runtime, number=SUBJECT, actor="system", source="test", note="x" * 201
        )
