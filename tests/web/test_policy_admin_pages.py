"""The DPO's purposes and policy pages: draft, preview, approve, discard."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from callvault.policy.models import PolicyDraft, PolicyVersion
from callvault.runtime import Runtime
from tests.web.conftest import Person, log_in

FIELD = re.compile(r'name="(p\d+-[a-z_]+)"[^>]*value="([^"]*)"')


def _draft_form(page: str, token: str, **changes: str | list[str]) -> dict[str, Any]:
    form: dict[str, Any] = {"csrf_token": token, "change_note": "Kortare lagring"}
    for name, value in FIELD.findall(page):
        if name.endswith("-variants") or name.endswith("-remove"):
            continue
        form[name] = value
    for index in range(3):
        checked = re.findall(rf'name="p{index}-variants" value="(\w+)" checked', page)
        if checked:
            form[f"p{index}-variants"] = checked
    form.update(changes)
    return form


def test_the_dpo_drafts_a_shorter_retention_previews_and_approves_it(
    client: TestClient,
    session: Session,
    runtime: Runtime,
    people: dict[str, Person],
    policy_version: PolicyVersion,
) -> None:
    token = log_in(client, runtime, people["dpo"])
    created = client.post(
        "/policy/manage/drafts", data={"csrf_token": token, "change_note": "Kortare lagring"}
    )
    assert created.status_code == 200
    draft = session.query(PolicyDraft).one()
    index = re.search(r'name="p(\d+)-code" value="training"', created.text)
    assert index
    form = _draft_form(created.text, token, **{f"p{index.group(1)}-retention_days": "60"})
    saved = client.post(f"/policy/manage/drafts/{draft.id}", data=form)
    assert "Utkastet har sparats." in saved.text
    assert "lagras 90 → 60 dagar" in saved.text
    preview = client.get(f"/policy/manage/drafts/{draft.id}?preview=sv")
    assert "Testpolicy." in preview.text
    approved = client.post(
        f"/policy/manage/drafts/{draft.id}",
        data={**form, "action": "approve"},
    )
    assert approved.status_code == 200
    assert "Policyversionen har godkänts och publicerats." in approved.text
    newest = session.query(PolicyVersion).filter_by(number=2).one()
    assert {p.code: p.retention_days for p in newest.purposes}["training"] == 60


def test_training_cannot_be_given_original_audio_in_a_draft(
    client: TestClient,
    session: Session,
    runtime: Runtime,
    people: dict[str, Person],
    policy_version: PolicyVersion,
) -> None:
    token = log_in(client, runtime, people["dpo"])
    created = client.post(
        "/policy/manage/drafts", data={"csrf_token": token, "change_note": "Mer åtkomst"}
    )
    draft = session.query(PolicyDraft).one()
    index = re.search(r'name="p(\d+)-code" value="training"', created.text)
    assert index
    form = _draft_form(
        created.text, token, **{f"p{index.group(1)}-variants": ["pseudonymised", "original"]}
    )
    refused = client.post(f"/policy/manage/drafts/{draft.id}", data=form)
    assert refused.status_code == 422
    assert "Utkastet sparades inte" in refused.text


def test_only_the_dpo_manages_the_policy(
    client: TestClient, runtime: Runtime, people: dict[str, Person]
) -> None:
    log_in(client, runtime, people["it_admin"])
    assert client.get("/policy/manage").status_code == 403


def test_the_employees_legal_basis_is_flagged_until_the_dpo_confirms_it(
    client: TestClient,
    session: Session,
    runtime: Runtime,
    people: dict[str, Person],
    policy_version: PolicyVersion,
) -> None:
    token = log_in(client, runtime, people["dpo"])
    assert 'id="basis-unchecked"' in client.get("/policy/manage").text
    created = client.post(
        "/policy/manage/drafts", data={"csrf_token": token, "change_note": "Rättslig grund"}
    )
    assert 'id="basis-unchecked"' in created.text
    assert "Berättigat intresse (artikel 6.1 f" in created.text  # the default, to check
    draft = session.query(PolicyDraft).one()
    shown = re.search(r'name="employee_basis_sv"[^>]*>([^<]*)<', created.text)
    shown_en = re.search(r'name="employee_basis_en"[^>]*>([^<]*)<', created.text)
    assert shown and shown_en
    form = _draft_form(
        created.text,
        token,
        employee_basis_sv=shown.group(1).replace("&#39;", "'"),
        employee_basis_en=shown_en.group(1).replace("&#39;", "'"),
    )
    client.post(f"/policy/manage/drafts/{draft.id}", data=form)
    session.refresh(draft)
    assert draft.employee_basis_sv is None  # saving the default unread confirms nothing
    form["employee_basis_checked"] = "1"
    approved = client.post(f"/policy/manage/drafts/{draft.id}", data={**form, "action": "approve"})
    assert "Policyversionen har godkänts" in approved.text
    newest = session.query(PolicyVersion).filter_by(number=2).one()
    assert newest.employee_basis_sv is not None
    assert newest.employee_basis_sv.startswith("Berättigat intresse")
    assert 'id="basis-unchecked"' not in client.get("/policy/manage").text


def test_the_preview_fills_in_the_organisation(
    client: TestClient,
    session: Session,
    runtime: Runtime,
    people: dict[str, Person],
    policy_version: PolicyVersion,
) -> None:
    from callvault.policy.identity import Identity, record_identity

    policy_version.text_sv = "1. Syftet\n\n{legal_name_genitive} policy, se {website}."
    record_identity(
        session,
        runtime,
        Identity("Exempel AB", "Exempel", "www.exempel.se", "dpo@exempel.se"),
        actor="system",
        source="cli",
    )
    session.flush()
    token = log_in(client, runtime, people["dpo"])
    created = client.post(
        "/policy/manage/drafts", data={"csrf_token": token, "change_note": "Ny text"}
    )
    assert 'id="placeholders"' in created.text
    draft = session.query(PolicyDraft).one()
    preview = client.get(f"/policy/manage/drafts/{draft.id}?preview=sv").text
    assert "Exempel AB:s policy, se www.exempel.se." in preview
