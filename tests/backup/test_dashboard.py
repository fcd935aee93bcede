"""A restore without the erasure journal is shown on the DPO dashboard, in Swedish first."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from callvault.audit.service import record
from callvault.runtime import Runtime
from tests.web.conftest import Person, client, log_in, people  # noqa: F401 (shared fixtures)


def _restore_entry(session: Session, *, without_journal: bool, backup_id: str) -> None:
    record(
        session,
        actor="system",
        action="backup.restore",
        object_type="backup",
        object_id=backup_id,
        source="cli",
        details={"without_journal": without_journal},
    )
    session.flush()


def test_the_dpo_sees_restores_that_skipped_the_journal(
    client: TestClient,  # noqa: F811
    session: Session,
    runtime: Runtime,
    people: dict[str, Person],  # noqa: F811
) -> None:
    log_in(client, runtime, people["dpo"])
    assert 'id="restores-without-journal"' not in client.get("/dpo").text
    _restore_entry(session, without_journal=False, backup_id="a" * 32)
    assert 'id="restores-without-journal"' not in client.get("/dpo").text
    _restore_entry(session, without_journal=True, backup_id="b" * 32)
    page = client.get("/dpo").text
    panel = page.split('id="restores-without-journal"', 1)[1].split("</section>", 1)[0]
    assert "Återställd utan raderingsjournalen" in panel
    assert "b" * 32 in panel and "a" * 32 not in panel
