"""The policy in force and its purposes (§2)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from callvault.errors import ConfigurationError, InvalidInput
from callvault.policy.models import PolicyPurpose, PolicyVersion


def version_in_force(session: Session, at: datetime) -> PolicyVersion:
    """The newest approved version effective at `at`."""
    version = session.scalar(
        sa.select(PolicyVersion)
        .where(PolicyVersion.effective_from <= at)
        .order_by(PolicyVersion.effective_from.desc(), PolicyVersion.number.desc())
        .limit(1)
    )
    if version is None:
        raise ConfigurationError("no policy version is in force; run `callvault init`")
    return version


def select_purposes(version: PolicyVersion, codes: list[str] | None) -> list[PolicyPurpose]:
    """The version's purposes named by `codes` (all of them when None); unknown codes refused."""
    by_code = {p.code: p for p in version.purposes}
    if codes is None:
        return list(by_code.values())
    unknown = sorted(set(codes) - set(by_code))
    if unknown or not codes:
        raise InvalidInput(f"purposes not registered in policy version {version.number}: {unknown}")
    return [by_code[c] for c in dict.fromkeys(codes)]


def retention_days(purposes: list[PolicyPurpose]) -> int:
    """A recording is kept as long as its longest-kept purpose allows."""
    return max(p.retention_days for p in purposes)
