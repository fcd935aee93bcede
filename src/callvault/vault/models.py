"""Vault artifacts: where each encrypted blob lives and its data key, wrapped by a KEK."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from callvault.db import Base, new_id


class Artifact(Base):
    """One encrypted blob (audio, transcript, bundle) of an owner (a recording or a DSAR).

    Deleting the row destroys the wrapped data key: that is the crypto-shredding.
    """

    __tablename__ = "vault_artifacts"
    __table_args__ = (sa.UniqueConstraint("owner_id", "kind"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    owner_id: Mapped[uuid.UUID] = mapped_column(index=True)
    kind: Mapped[str] = mapped_column(sa.String(40))
    media_type: Mapped[str] = mapped_column(sa.String(100))
    blob_name: Mapped[str] = mapped_column(sa.String(128), unique=True)
    plain_size: Mapped[int] = mapped_column(sa.BigInteger)
    sealed_size: Mapped[int] = mapped_column(sa.BigInteger)
    segment_size: Mapped[int]
    kek_id: Mapped[str] = mapped_column(sa.String(64), index=True)
    wrapped_key: Mapped[bytes] = mapped_column(sa.LargeBinary)
    created_at: Mapped[datetime]
