"""`callvault init` for backups: the erasure journal, and no start while a restore is unfinished."""

from __future__ import annotations

from callvault.backup.journal import ensure_journal
from callvault.backup.marker import refuse_while_restoring
from callvault.runtime import Runtime


def initialise(runtime: Runtime) -> list[str]:
    refuse_while_restoring(runtime)
    if not ensure_journal(runtime):
        return []
    path = runtime.settings.resolved_erasure_journal_path
    return [
        f"Erasure journal created: {path}. Keep it off the database's disk "
        "(CALLVAULT_ERASURE_JOURNAL_PATH): every restore replays it."
    ]
