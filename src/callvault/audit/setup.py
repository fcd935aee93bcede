"""`callvault init` for the audit trail: the checkpoint signing key, outside the database."""

from __future__ import annotations

from callvault.audit.signing import ensure_signing_key, public_path
from callvault.runtime import Runtime


def initialise(runtime: Runtime) -> list[str]:
    path = runtime.settings.resolved_audit_signing_key
    if not ensure_signing_key(path):
        return []
    return [
        f"Audit checkpoint signing key created: {path} (mode 0600).",
        f"Keep a copy of its public half {public_path(path)} off this machine: "
        "`callvault audit verify --key` checks checkpoints with it.",
    ]
