"""The audit trail page: why each refusal was refused, links to the objects, and the export of
a period as CSV or JSON Lines for a SIEM."""

from __future__ import annotations

import csv
import io
import json
import uuid
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from callvault.audit.service import record
from callvault.runtime import Runtime
from tests.web.conftest import Person, log_in


@pytest.fixture
def entries(session: Session, runtime: Runtime, people: dict[str, Person]) -> dict[str, str]:
    """A refused access, a refused ingest, and a DSAR that the DPO can open."""
    manager = people["training_manager"]
    recording, dsar = str(uuid.uuid4()), str(uuid.uuid4())
    record(
        session, actor=f"account:{manager.id}", action="access.refused", object_type="recording",
        object_id=recording, outcome="refused",
        details={"why": "no_grant", "attempted": "recording.play"},
    )  # fmt: skip
    record(
        session, actor="service:" + str(uuid.uuid4()), action="recording.ingest",
        object_type="recording", outcome="refused", reason="consent_missing",
        details={"status": 422},
    )  # fmt: skip
    record(session, actor="system", action="dsar.open", object_type="dsar", object_id=dsar)
    session.flush()
    return {"recording": recording, "dsar": dsar}


def _rows(page: str) -> list[str]:
    return page.split("<tbody>", 1)[1].split("</tbody>", 1)[0].split("<tr>")[1:]


def test_each_refusal_says_why(
    client: TestClient, runtime: Runtime, people: dict[str, Person], entries: dict[str, str]
) -> None:
    log_in(client, runtime, people["dpo"])
    rows = _rows(client.get("/audit", params={"outcome": "refused"}).text)
    refused_access = next(r for r in rows if entries["recording"] in r)
    assert "Ingen behörighet omfattar det" in refused_access
    refused_ingest = next(r for r in rows if "Inspelning mottagen" in r)
    assert "Inget samtycke" in refused_ingest


@pytest.mark.parametrize(("role", "opens_dsar"), [("dpo", True), ("it_admin", False)])
def test_objects_link_to_their_entries_and_pages(
    client: TestClient,
    runtime: Runtime,
    people: dict[str, Person],
    entries: dict[str, str],
    role: str,
    opens_dsar: bool,
) -> None:
    log_in(client, runtime, people[role])
    page = client.get("/audit").text
    about = f"/audit?object_type=recording&amp;object_id={entries['recording']}"
    assert f'href="{about}"' in page
    assert (f'href="/dsars/{entries["dsar"]}"' in page) is opens_dsar
    only = client.get(
        "/audit", params={"object_type": "recording", "object_id": entries["recording"]}
    ).text
    assert len(_rows(only)) == 1 and "Poster om ett objekt: Inspelning" in only


@pytest.mark.parametrize("role", ["dpo", "it_admin"])
def test_the_trail_of_a_period_exports_as_csv_and_json_lines(
    client: TestClient,
    session: Session,
    runtime: Runtime,
    people: dict[str, Person],
    entries: dict[str, str],
    role: str,
) -> None:
    log_in(client, runtime, people[role])
    today = runtime.clock.now().date()
    period = {"from": str(today - timedelta(days=1)), "until": str(today)}
    lines = client.get("/audit/export", params={**period, "format": "jsonl"})
    assert lines.status_code == 200
    assert lines.headers["content-type"].startswith("application/x-ndjson")
    assert "attachment" in lines.headers["content-disposition"]
    exported = [json.loads(line) for line in lines.text.splitlines()]
    seqs = [e["seq"] for e in exported]
    assert seqs == sorted(seqs) and len(seqs) >= 4, "every entry of the period, oldest first"
    assert all(e["prev_hash"] == p["hash"] for p, e in zip(exported, exported[1:], strict=False))
    assert {"access.refused", "recording.ingest", "dsar.open"} <= {e["action"] for e in exported}
    table = client.get("/audit/export", params={**period, "format": "csv"})
    assert table.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(table.text)))
    assert [int(r["seq"]) for r in rows][: len(seqs)] == seqs
    refused = next(r for r in rows if r["action"] == "access.refused")
    assert json.loads(refused["details"])["why"] == "no_grant"
    # The export itself is in the trail.
    assert any(e["action"] == "audit.read" for e in map(json.loads, client.get(
        "/audit/export", params={**period, "format": "jsonl"}).text.splitlines()))  # fmt: skip


def test_days_outside_the_period_are_left_out(
    client: TestClient, runtime: Runtime, people: dict[str, Person], entries: dict[str, str]
) -> None:
    log_in(client, runtime, people["dpo"])
    tomorrow = runtime.clock.now().date() + timedelta(days=1)
    empty = client.get(
        "/audit/export", params={"from": str(tomorrow), "until": str(tomorrow), "format": "jsonl"}
    )
    assert empty.status_code == 200 and empty.text == ""


@pytest.mark.parametrize(
    "params",
    [
        {"from": "2026-03-01", "until": "2026-03-02", "format": "xml"},
        {"from": "2026-03-02", "until": "2026-03-01", "format": "csv"},
        {"until": "2026-03-01", "format": "csv"},
    ],
    ids=["unknown-format", "until-before-from", "no-start"],
)
def test_a_bad_export_request_is_refused(
    client: TestClient, runtime: Runtime, people: dict[str, Person], params: dict[str, str]
) -> None:
    log_in(client, runtime, people["it_admin"])
    assert client.get("/audit/export", params=params).status_code == 422


@pytest.mark.parametrize("role", ["qa_manager", "agent"])
def test_others_may_not_export(
    client: TestClient, runtime: Runtime, people: dict[str, Person], role: str
) -> None:
    log_in(client, runtime, people[role])
    response = client.get(
        "/audit/export", params={"from": "2026-03-01", "until": "2026-03-02", "format": "csv"}
    )
    assert response.status_code == 403
