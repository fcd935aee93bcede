"""The policy in force and its purposes (§2)."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import sqlalchemy as sa
import structlog
from sqlalchemy.orm import Session, lazyload

from callvault.errors import ConfigurationError, InvalidInput, NotFound
from callvault.inputs import MAX_INTEGER
from callvault.policy.models import PolicyPurpose, PolicyVersion
from callvault.policy.purposes import FIRST_PURPOSES
from callvault.policy.texts import policy_text, prompt_template
from callvault.runtime import Runtime

log = structlog.get_logger(__name__)


def version_in_force(
    session: Session, at: datetime, *, with_purposes: bool = True
) -> PolicyVersion:
    """The newest approved version effective at `at` (purposes loaded unless told not to:
    the IVR's hot path needs only the prompts)."""
    query = (
        sa.select(PolicyVersion)
        .where(PolicyVersion.effective_from <= at)
        .order_by(PolicyVersion.effective_from.desc(), PolicyVersion.number.desc())
        .limit(1)
    )
    if not with_purposes:
        query = query.options(lazyload(PolicyVersion.purposes))
    version = session.scalar(query)
    if version is None:
        if session.scalar(sa.select(PolicyVersion.id).limit(1)) is None:
            raise ConfigurationError("no policy version is in force; run `callvault init`")
        # A call from before the first version took effect had no consent under this policy.
        raise InvalidInput("no policy version was in force at that time")
    return version


def select_purposes(version: PolicyVersion, codes: list[str] | None) -> list[PolicyPurpose]:
    """The version's purposes named by `codes` (all of them when None); unknown codes refused.

    Purposes that register how long something derived from recordings is kept (evaluation
    results, the training library) are not recording purposes: a recording is never made, nor
    kept longer, for them."""
    from callvault.policy.purposes import NON_RECORDING_PURPOSES

    by_code = {
        p.code: p for p in version.purposes if p.variants and p.code not in NON_RECORDING_PURPOSES
    }
    if codes is None:
        return list(by_code.values())
    unknown = sorted(set(codes) - set(by_code))
    if unknown or not codes:
        raise InvalidInput(f"purposes not registered in policy version {version.number}: {unknown}")
    return [by_code[c] for c in dict.fromkeys(codes)]


def retention_days(purposes: list[PolicyPurpose]) -> int:
    """A recording is kept as long as its longest-kept purpose allows."""
    return max(p.retention_days for p in purposes)


def published_versions(session: Session, at: datetime | None = None) -> list[PolicyVersion]:
    """Every approved version, newest first; with `at`, only those in force by then or earlier.

    The version in force is the first of `published_versions(session, now)`; any versions
    before `at` that are not returned are approved but not yet effective (announced ahead).
    """
    query = sa.select(PolicyVersion).order_by(
        PolicyVersion.effective_from.desc(), PolicyVersion.number.desc()
    )
    if at is not None:
        query = query.where(PolicyVersion.effective_from <= at)
    return list(session.scalars(query))


def version_by_number(session: Session, number: int) -> PolicyVersion:
    """The version with that number, or NotFound (also for numbers no column could hold)."""
    if not 1 <= number <= MAX_INTEGER:
        raise NotFound("no policy version with that number")
    version = session.scalar(sa.select(PolicyVersion).where(PolicyVersion.number == number))
    if version is None:
        raise NotFound("no policy version with that number")
    return version


def latest_version(session: Session) -> PolicyVersion | None:
    """The highest-numbered version, whether or not it is in force yet."""
    return session.scalar(sa.select(PolicyVersion).order_by(PolicyVersion.number.desc()).limit(1))


def ensure_first_version(session: Session, runtime: Runtime) -> PolicyVersion:
    """Version 1 from the bundled texts, created once (idempotent); returns it.

    The texts and prompts are kept as templates: the organisation's identity is filled in when
    they are shown or played (callvault.policy.identity), and consent evidence hashes the words
    as played, which `played_prompt` rebuilds from the template and the identity of the time.
    """
    existing = session.scalar(sa.select(PolicyVersion).where(PolicyVersion.number == 1))
    if existing is not None:
        return existing
    now = runtime.clock.now()
    version = PolicyVersion(
        number=1,
        effective_from=now,
        approved_by=None,
        change_note=FIRST_VERSION_NOTE,
        text_sv=policy_text("sv"),
        text_en=policy_text("en"),
        prompt_sv=prompt_template("sv"),
        prompt_en=prompt_template("en"),
        created_at=now,
    )
    for spec in FIRST_PURPOSES:
        version.purposes.append(spec.to_model())
    session.add(version)
    session.flush()
    log.info("policy_version_created", policy_version=1, policy_version_id=str(version.id))
    return version


POLICY_TIMEZONE = ZoneInfo("Europe/Stockholm")


def set_first_version_effective(session: Session, runtime: Runtime, day: date) -> PolicyVersion:
    """Record the day the organisation's policy took effect (`init --policy-effective`).

    Version 1 then counts from the start of that day, Stockholm time, so calls recorded under the
    same policy before callvault was installed can be imported. The date may only move earlier,
    never later or into the future: a later date would leave stored recordings without the
    version they were made under.
    """
    first = ensure_first_version(session, runtime)
    when = datetime.combine(day, time(0), tzinfo=POLICY_TIMEZONE)
    if when > runtime.clock.now():
        raise InvalidInput("the policy's effective date cannot be in the future")
    if when == first.effective_from:
        return first
    if when > first.effective_from:
        raise InvalidInput(
            "version 1 is already in force from an earlier date; it can only move earlier"
        )
    from callvault.audit.service import record

    previous = first.effective_from
    first.effective_from = when
    session.flush()
    record(
        session,
        actor="system",
        action="policy.effective_date_set",
        object_type="policy_version",
        object_id=str(first.id),
        source="cli",
        details={"from": previous.isoformat(), "to": when.isoformat()},
    )
    log.info("policy_effective_date_set", policy_version=1, effective_from=when.isoformat())
    return first


# Swedish first: the note is shown as written on the Swedish and the English pages alike.
FIRST_VERSION_NOTE = (
    "Version 1: samtalsinspelningspolicyn som den antogs, med sina två ändamål, utbildning "
    "och kvalitetssäkring, som vart och ett sparas i 90 dagar."
)


def art13_information(
    session: Session, runtime: Runtime, audience: str, language: str
) -> dict[str, object]:
    """GDPR Art. 13 information (see callvault.policy.art13; here for the contract's name)."""
    from callvault.policy.art13 import art13_information as build

    return build(session, runtime, audience, language)
