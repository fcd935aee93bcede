"""Withdrawals of consent (§4, §7; GDPR Art. 7(3)): what was asked, by whom, and the reference."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from callvault.db import Base, new_id


class Withdrawal(Base):
    """One registered withdrawal. Holds the keyed hash of the number, never the number itself.

    The hash lets a later access request (DSAR) show the caller their withdrawals, and lets
    ingest refuse a recording of a call that the caller withdrew from while it was in progress.
    """

    __tablename__ = "withdrawals"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    reference: Mapped[str] = mapped_column(sa.String(16), unique=True)
    caller_number_hash: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    by: Mapped[str] = mapped_column(sa.String(16))  # "number" or "call_reference"
    channel: Mapped[str] = mapped_column(sa.String(16))  # "api", "web", "cli", "ivr"
    actor: Mapped[str] = mapped_column(sa.String(80))
    registered_at: Mapped[datetime] = mapped_column(index=True)
    recordings_deleted: Mapped[int] = mapped_column(default=0)
