"""Accounts of people and of integrations (service accounts with API tokens)."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from callvault.db import Base, new_id


class ServiceAccount(Base):
    """An integration's API token, stored only as its SHA-256, scoped to one kind of work."""

    __tablename__ = "service_accounts"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(sa.String(120), unique=True)
    scope: Mapped[str] = mapped_column(sa.String(20))  # "ingest" or "telephony"
    token_sha256: Mapped[str] = mapped_column(sa.String(64), unique=True)
    token_prefix: Mapped[str] = mapped_column(sa.String(12))
    created_at: Mapped[datetime]
    disabled_at: Mapped[datetime | None]
