"""The organisation's identity (legal name, short name, website, DPO contact), filled into texts.

Policy versions are immutable and hold templates; the identity is a database value, set by
`callvault init` (options, CALLVAULT_ORGANISATION_* settings, or questions on a terminal) and
filled in whenever a text is shown or a prompt is played. The identity history is append-only,
so the prompt a caller heard is `played_prompt(…, at=the time of the call)` for ever after.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from callvault.config import Settings
from callvault.errors import ConfigurationError, InvalidInput
from callvault.policy.models import OrganisationIdentity, PolicyVersion
from callvault.policy.texts import english_genitive, fill, one_line, swedish_genitive
from callvault.runtime import Runtime


@dataclass(frozen=True)
class Identity:
    """Who the controller is, as the published texts name it."""

    legal_name: str
    short_name: str
    website: str
    dpo_contact: str

    def values(self, language: str) -> dict[str, str]:
        """Placeholder values for a text in `language` (genitives differ by language)."""
        genitive = swedish_genitive if language == "sv" else english_genitive
        return {
            "organisation": self.short_name,
            "organisation_genitive": genitive(self.short_name),
            "legal_name": self.legal_name,
            "legal_name_genitive": genitive(self.legal_name),
            "website": self.website,
            "dpo_contact": self.dpo_contact,
        }

    def fill(self, template: str, language: str) -> str:
        return fill(template, self.values(language))


#: The identity of the bundled example policy (Verisure Arlo Europe's). Fine for trying
#: callvault out; outside development callvault refuses to start with any of it.
EXAMPLE = Identity(
    legal_name="Verisure Arlo Europe DAC",
    short_name="Arlo Europe",
    website="www.arlo.com",
    dpo_contact="dpo@example.invalid",
)

#: The setting and the `callvault init` option that supply each field.
SETTING = {
    "legal_name": "CALLVAULT_ORGANISATION_NAME",
    "short_name": "CALLVAULT_ORGANISATION_SHORT_NAME",
    "website": "CALLVAULT_ORGANISATION_WEBSITE",
    "dpo_contact": "CALLVAULT_DPO_CONTACT",
}
OPTION = {
    "legal_name": "--organisation-name",
    "short_name": "--organisation-short-name",
    "website": "--organisation-website",
    "dpo_contact": "--dpo-contact",
}
LIMITS = {"legal_name": 200, "short_name": 120, "website": 200, "dpo_contact": 320}


def from_settings(settings: Settings) -> Identity:
    """The identity the CALLVAULT_ORGANISATION_* settings give (the example where unset)."""
    legal = (settings.organisation_name or EXAMPLE.legal_name).strip()
    short = (settings.organisation_short_name or "").strip()
    if not short:
        short = EXAMPLE.short_name if legal == EXAMPLE.legal_name else legal
    return Identity(
        legal_name=legal,
        short_name=short,
        website=(settings.organisation_website or EXAMPLE.website).strip(),
        dpo_contact=(settings.dpo_contact or EXAMPLE.dpo_contact).strip(),
    )


def example_fields(identity: Identity) -> list[str]:
    """The fields still holding the example's value (an .invalid DPO address counts)."""
    found = [
        f.name for f in fields(Identity) if getattr(identity, f.name) == getattr(EXAMPLE, f.name)
    ]
    if "dpo_contact" not in found and identity.dpo_contact.lower().endswith(".invalid"):
        found.append("dpo_contact")
    return found


def validate(identity: Identity) -> Identity:
    """Trimmed, non-empty, within length, on one line; InvalidInput naming the field."""
    cleaned = {}
    for name, value in asdict(identity).items():
        value = " ".join(str(value).split())
        if not value or len(value) > LIMITS[name]:
            raise InvalidInput(f"{OPTION[name]} must be 1–{LIMITS[name]} characters")
        if "{" in value or "}" in value:
            raise InvalidInput(f"{OPTION[name]} must not contain braces")
        cleaned[name] = value
    return Identity(**cleaned)


def _row_at(session: Session, at: datetime | None) -> OrganisationIdentity | None:
    query = sa.select(OrganisationIdentity).order_by(
        OrganisationIdentity.set_at.desc(), OrganisationIdentity.id
    )
    if at is not None:
        query = query.where(OrganisationIdentity.set_at <= at)
    return session.scalar(query.limit(1))


def identity_in_force(session: Session, settings: Settings, at: datetime | None = None) -> Identity:
    """The identity recorded last (before `at` when given); before any is recorded, the
    settings'. A time before the first recorded identity gets the first one: nothing was
    shown or played before `callvault init` recorded it."""
    row = _row_at(session, at)
    if row is None and at is not None:
        row = session.scalar(
            sa.select(OrganisationIdentity).order_by(OrganisationIdentity.set_at).limit(1)
        )
    if row is None:
        return from_settings(settings)
    return Identity(row.legal_name, row.short_name, row.website, row.dpo_contact)


def record_identity(
    session: Session, runtime: Runtime, identity: Identity, *, actor: str, source: str
) -> bool:
    """Make `identity` the one in force (a new row, audited); False when it already is."""
    from callvault.audit.service import record

    identity = validate(identity)
    current = _row_at(session, None)
    if current is not None and identity == Identity(
        current.legal_name, current.short_name, current.website, current.dpo_contact
    ):
        return False
    changed = [
        f.name
        for f in fields(Identity)
        if current is None or getattr(identity, f.name) != getattr(current, f.name)
    ]
    now = runtime.clock.now()
    if current is not None and current.set_at >= now:  # keep the history strictly ordered
        now = current.set_at + timedelta(microseconds=1)
    row = OrganisationIdentity(**asdict(identity), set_at=now, set_by=actor[:64])
    session.add(row)
    session.flush()
    record(
        session,
        actor=actor,
        action="organisation.identity_set",
        object_type="organisation_identity",
        object_id=str(row.id),
        source=source,
        details={"fields": changed, "example": example_fields(identity)},
    )
    return True


def check_identity_ready(session: Session, settings: Settings) -> None:
    """Outside development, refuse to run with the example identity, naming what to set."""
    if settings.is_development:
        return
    missing = example_fields(identity_in_force(session, settings))
    if missing:
        raise ConfigurationError(
            "the organisation's identity is still the bundled example ("
            + ", ".join(SETTING[name] for name in missing)
            + "); set them, or run `callvault init "
            + " ".join(f"{OPTION[name]} …" for name in missing)
            + "`"
        )


def played_prompt(
    session: Session, settings: Settings, version: PolicyVersion, language: str, at: datetime
) -> str:
    """The exact words of the version's consent prompt as played (and hashed) at `at`."""
    template = version.prompt_sv if language.startswith("sv") else version.prompt_en
    lang = "sv" if language.startswith("sv") else "en"
    return one_line(identity_in_force(session, settings, at).fill(template, lang))


def version_text(
    session: Session, settings: Settings, version: PolicyVersion, language: str
) -> str:
    """A version's policy text with the organisation's identity filled in."""
    lang = "en" if language == "en" else "sv"
    template = version.text_en if lang == "en" else version.text_sv
    return identity_in_force(session, settings).fill(template, lang)
