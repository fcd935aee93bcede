"""Changing a password on a real SQLite file, as `make run` serves: the attempt is counted in a
transaction of its own, committed on another connection, before the caller's session writes."""

from __future__ import annotations

from callvault.accounts import service as accounts
from callvault.db import transaction
from callvault.runtime import Runtime
from tests.file_runtime import file_runtime_fixture  # noqa: F401 - provides `file_runtime`

FIRST, OWN = "Tillfälligt-Lösen-4711", "Granskning-Sjö-Båt-2026"


def test_a_password_change_in_a_session_that_has_read_is_saved_not_database_locked(
    file_runtime: Runtime,
) -> None:
    with transaction(file_runtime.sessions) as session:
        account = accounts.create_account(
            session, file_runtime, email="qa@example.org", role="qa_manager", password=FIRST,
            actor="system", source="test", password_must_change=True,
        )  # fmt: skip
        account_id = account.id
    with file_runtime.sessions() as session:  # one request, as callvault.deps.db_session runs it
        accounts.find_account(session, account_id=account_id)  # signing the person in reads
        accounts.change_password(
            session, file_runtime, account_id=account_id, current_password=FIRST,
            new_password=OWN, keep_session=None, source="127.0.0.1",
        )  # fmt: skip
        session.commit()
    with transaction(file_runtime.sessions) as session:
        changed = accounts.find_account(session, account_id=account_id)
        assert changed.password_must_change is False
