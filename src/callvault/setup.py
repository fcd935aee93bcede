"""`callvault init`: prepare the data directory, keys, schema and first data, idempotently."""

from __future__ import annotations

from datetime import date

from callvault.db import migrate, transaction
from callvault.parts import part_modules
from callvault.runtime import Runtime


def initialise(runtime: Runtime, *, policy_effective: date | None = None) -> list[str]:
    """Run every part's `setup.initialise` in policy order; returns lines to show the operator.

    `policy_effective` is the day the organisation's policy took effect (version 1 counts from
    it instead of from the first `init`).
    """
    data_dir = runtime.settings.data_dir
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    data_dir.chmod(0o700)  # the database and blobs inside are for callvault's eyes only
    migrate(runtime.engine)
    messages: list[str] = []
    for module in part_modules("setup"):
        messages.extend(module.initialise(runtime))
    if policy_effective is not None:
        from callvault.policy.service import set_first_version_effective

        with transaction(runtime.sessions) as session:
            first = set_first_version_effective(session, runtime, policy_effective)
            messages.append(f"policy: version 1 in force from {first.effective_from.isoformat()}")
    return messages
