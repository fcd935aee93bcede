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
