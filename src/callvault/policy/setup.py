"""`callvault init` for the policy: version 1 from the bundled texts, once."""

from __future__ import annotations

from callvault.db import transaction
from callvault.policy.service import ensure_first_version, version_in_force
from callvault.runtime import Runtime


def initialise(runtime: Runtime) -> list[str]:
    """Seed policy version 1 if no version exists (idempotent)."""
    with transaction(runtime.sessions) as session:
        first = ensure_first_version(session, runtime)
        current = version_in_force(session, runtime.clock.now())
        purposes = ", ".join(
            f"{p.code} ({p.retention_days} d)"
            for p in sorted(current.purposes, key=lambda p: p.code)
        )
        return [
            f"policy: version {current.number} in force (version 1 id {first.id}); "
            f"purposes: {purposes}"
        ]
