"""`callvault init` for the policy: version 1 from the bundled texts, once; the organisation's
identity from the CALLVAULT_ORGANISATION_* settings."""

from __future__ import annotations

from dataclasses import fields, replace

from sqlalchemy.orm import Session

from callvault.db import transaction
from callvault.policy.identity import (
    EXAMPLE,
    SETTING,
    Identity,
    example_fields,
    from_settings,
    identity_in_force,
    record_identity,
)
from callvault.policy.service import ensure_first_version, version_in_force
from callvault.runtime import Runtime


def initialise(runtime: Runtime) -> list[str]:
    """Seed policy version 1 if no version exists (idempotent); record the identity settings."""
    with transaction(runtime.sessions) as session:
        first = ensure_first_version(session, runtime)
        sync_identity(session, runtime, {})
        current = version_in_force(session, runtime.clock.now())
        purposes = ", ".join(
            f"{p.code} ({p.retention_days} d)"
            for p in sorted(current.purposes, key=lambda p: p.code)
        )
        return [
            f"policy: version {current.number} in force (version 1 id {first.id}); "
            f"purposes: {purposes}",
            *identity_lines(identity_in_force(session, runtime.settings)),
        ]


def sync_identity(session: Session, runtime: Runtime, given: dict[str, str]) -> bool:
    """Record the identity: the one in force, with every field the settings set (anything but
    the example's value) and then every field in `given` (init's options) replacing its own."""
    current = identity_in_force(session, runtime.settings)
    configured = from_settings(runtime.settings)
    changes = {
        f.name: getattr(configured, f.name)
        for f in fields(Identity)
        if getattr(configured, f.name) != getattr(EXAMPLE, f.name)
    }
    # A short name the settings only derived from the legal name replaces the example's, never
    # one that was recorded on purpose (init's option, or its answer on a terminal).
    if not (runtime.settings.organisation_short_name or "").strip() and (
        current.short_name != EXAMPLE.short_name
    ):
        changes.pop("short_name", None)
    changes.update({name: value for name, value in given.items() if value and value.strip()})
    return record_identity(
        session, runtime, replace(current, **changes), actor="system", source="cli"
    )


def identity_lines(identity: Identity) -> list[str]:
    """What `init` says about the identity; a warning while any of it is the example's."""
    lines = [
        f"organisation: {identity.legal_name} ({identity.short_name}), {identity.website}; "
        f"DPO contact {identity.dpo_contact}"
    ]
    missing = example_fields(identity)
    if missing:
        lines.append(
            "warning: the organisation's identity is still the bundled example ("
            + ", ".join(SETTING[name] for name in missing)
            + "); production refuses to start until it is set "
            "(callvault init --organisation-name … --organisation-short-name … "
            "--organisation-website … --dpo-contact …)"
        )
    return lines
