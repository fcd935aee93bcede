"""The restore marker: while it exists, a restore has not finished replaying and nothing serves."""

from __future__ import annotations

import json
from pathlib import Path

from callvault.config import write_private_file
from callvault.errors import CallvaultError
from callvault.runtime import Runtime


class RestoreUnfinished(CallvaultError):
    """A restore has not finished replaying the erasure journal; callvault does not serve yet."""

    code = "restore_unfinished"
    status_code = 503


def marker_path(runtime: Runtime) -> Path:
    return runtime.settings.data_dir / "RESTORE-IN-PROGRESS"


def set_marker(runtime: Runtime, backup_id: str) -> None:
    path = marker_path(runtime)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    write_private_file(path, json.dumps({"backup_id": backup_id}).encode())


def clear_marker(runtime: Runtime) -> None:
    marker_path(runtime).unlink(missing_ok=True)


def restore_unfinished(runtime: Runtime) -> bool:
    return marker_path(runtime).exists()


def refuse_while_restoring(runtime: Runtime) -> None:
    if restore_unfinished(runtime):
        raise RestoreUnfinished(
            "a restore has not finished replaying the erasure journal; run "
            "`callvault backup restore IN --yes` again to finish it / en återställning är inte "
            "klar: kör den igen"
        )
