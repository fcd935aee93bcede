"""Policy versions and the purposes registered in each (§2: purposes change only by new version)."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from callvault.db import Base, new_id


class PolicyVersion(Base):
    """One approved, published version of the call-recording policy. Never edited after approval."""

    __tablename__ = "policy_versions"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    number: Mapped[int] = mapped_column(unique=True)
    effective_from: Mapped[datetime]
    approved_by: Mapped[uuid.UUID | None]
    change_note: Mapped[str] = mapped_column(sa.Text)
    text_sv: Mapped[str] = mapped_column(sa.Text)
    text_en: Mapped[str] = mapped_column(sa.Text)
    prompt_sv: Mapped[str] = mapped_column(sa.Text)
    prompt_en: Mapped[str] = mapped_column(sa.Text)
    # The legal basis of processing employees' data, for their Art. 13 page; None: the
    # bundled default (legitimate interest), not yet checked and approved by the DPO.
    employee_basis_sv: Mapped[str | None] = mapped_column(sa.Text)
    employee_basis_en: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime]

    purposes: Mapped[list[PolicyPurpose]] = relationship(
        back_populates="policy_version", order_by="PolicyPurpose.code", lazy="selectin"
    )


class PolicyPurpose(Base):
    """A purpose recordings may serve under one policy version, with its retention."""

    __tablename__ = "policy_purposes"
    __table_args__ = (sa.UniqueConstraint("policy_version_id", "code"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    policy_version_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("policy_versions.id"), index=True
    )
    code: Mapped[str] = mapped_column(sa.String(40))
    description_sv: Mapped[str] = mapped_column(sa.Text)
    description_en: Mapped[str] = mapped_column(sa.Text)
    retention_days: Mapped[int]
    variants: Mapped[list[str]] = mapped_column(sa.JSON)

    policy_version: Mapped[PolicyVersion] = relationship(back_populates="purposes")


class PolicyDraft(Base):
    """A proposed change to the purposes, retention or texts; it binds nothing until the DPO
    approves it, and approval turns it into a new PolicyVersion (§2)."""

    __tablename__ = "policy_drafts"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    base_version_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("policy_versions.id"))
    state: Mapped[str] = mapped_column(sa.String(16), default="open", index=True)
    change_note: Mapped[str] = mapped_column(sa.Text)
    # The complete purpose list of the proposed version: [{code, description_sv, description_en,
    # retention_days, variants}], so adding, changing and removing are all one shape.
    purposes: Mapped[list[dict[str, object]]] = mapped_column(sa.JSON)
    text_sv: Mapped[str | None] = mapped_column(sa.Text)
    text_en: Mapped[str | None] = mapped_column(sa.Text)
    prompt_sv: Mapped[str | None] = mapped_column(sa.Text)
    prompt_en: Mapped[str | None] = mapped_column(sa.Text)
    employee_basis_sv: Mapped[str | None] = mapped_column(sa.Text)
    employee_basis_en: Mapped[str | None] = mapped_column(sa.Text)
    created_by: Mapped[uuid.UUID]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    decided_by: Mapped[uuid.UUID | None]
    decided_at: Mapped[datetime | None]
    approved_version_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("policy_versions.id")
    )


class PolicyPromptAudio(Base):
    """A recording of a version's consent prompt uploaded by the DPO, played with <Play>.

    Rows are never replaced: consent evidence holds the SHA-256 of the audio played, so every
    audio that was ever played must stay demonstrable. The newest upload is the one played.
    """

    __tablename__ = "policy_prompt_audio"
    __table_args__ = (
        sa.Index("ix_policy_prompt_audio_version_lang", "policy_version_id", "language"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    policy_version_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("policy_versions.id"))
    language: Mapped[str] = mapped_column(sa.String(8))
    blob_name: Mapped[str] = mapped_column(sa.String(200))
    media_type: Mapped[str] = mapped_column(sa.String(60))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(sa.String(64), index=True)
    uploaded_by: Mapped[uuid.UUID]
    uploaded_at: Mapped[datetime]


class OrganisationIdentity(Base):
    """The organisation's name, website and DPO contact, filled into the policy texts.

    Append-only: a change is a new row, so the exact words a caller heard at any time (and the
    SHA-256 the consent evidence holds of them) can always be rebuilt from the version's
    template and the identity in force then.
    """

    __tablename__ = "organisation_identities"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    legal_name: Mapped[str] = mapped_column(sa.String(200))
    short_name: Mapped[str] = mapped_column(sa.String(120))
    website: Mapped[str] = mapped_column(sa.String(200))
    dpo_contact: Mapped[str] = mapped_column(sa.String(320))
    set_at: Mapped[datetime] = mapped_column(index=True)
    set_by: Mapped[str] = mapped_column(sa.String(64))
