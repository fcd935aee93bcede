"""Access grants (§6): the DPO's permission for one manager to use certain recordings."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from callvault.db import Base, new_id
from callvault.recordings.models import Recording


class Variant(enum.StrEnum):
    PSEUDONYMISED = "pseudonymised"
    ORIGINAL = "original"


class ScopeKind(enum.StrEnum):
    ALL = "all"
    DATE_RANGE = "date_range"
    AGENT = "agent"
    TEAM = "team"
    RECORDINGS = "recordings"


class AccessGrant(Base):
    """One grant: grantee, purpose, variant, scope and validity. Revoked, never edited."""

    __tablename__ = "access_grants"
    __table_args__ = (
        sa.Index("ix_access_grants_grantee_id_valid_until", "grantee_id", "valid_until"),
        sa.CheckConstraint("valid_until > valid_from", name="valid_period"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    grantee_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("accounts.id"))
    granted_by: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("accounts.id"))
    purpose_code: Mapped[str] = mapped_column(sa.String(40))
    policy_version_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("policy_versions.id"))
    variant: Mapped[str] = mapped_column(sa.String(16))
    scope_kind: Mapped[str] = mapped_column(sa.String(16))
    scope_from: Mapped[datetime | None]  # date_range: started_at >= scope_from
    scope_until: Mapped[datetime | None]  # date_range: started_at < scope_until
    scope_agent_id: Mapped[str | None] = mapped_column(sa.String(128))
    scope_team: Mapped[str | None] = mapped_column(sa.String(128))
    valid_from: Mapped[datetime]
    valid_until: Mapped[datetime]
    allows_download: Mapped[bool] = mapped_column(default=False)
    note: Mapped[str | None] = mapped_column(sa.String(500))
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    revoked_by: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("accounts.id"))

    # loaded only when asked for: a grant may list up to 1000 recordings
    recordings: Mapped[list[AccessGrantRecording]] = relationship(cascade="all, delete-orphan")

    @property
    def recording_ids(self) -> list[uuid.UUID]:
        return [r.recording_id for r in self.recordings]

    def is_active(self, now: datetime) -> bool:
        return self.revoked_at is None and self.valid_from <= now < self.valid_until


class AccessGrantRecording(Base):
    """A recording listed by a grant whose scope is `recordings`.

    No foreign key to recordings: deleting a recording (retention, withdrawal) must not depend on
    grants, and a listed id that no longer exists simply covers nothing.
    """

    __tablename__ = "access_grant_recordings"

    grant_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("access_grants.id", ondelete="CASCADE"), primary_key=True
    )
    recording_id: Mapped[uuid.UUID] = mapped_column(primary_key=True, index=True)


# The listing reads recordings newest first within one grant's scope; these indexes let each
# grant's branch of the query walk an index in order (see access.service.visible_recordings).
sa.Index(
    "ix_recordings_agent_id_started_at_id", Recording.agent_id, Recording.started_at, Recording.id
)
sa.Index("ix_recordings_team_started_at_id", Recording.team, Recording.started_at, Recording.id)


class PlaySession(Base):
    """One listen (§6): a person's playback of one recording under one purpose, variant and
    reason, from its first range until 30 minutes pass without another.

    The audit trail is append-only, so the listen is audited once, as `recording.play` when it
    begins (`audit_seq`), and the byte ranges the player fetched are added here, in place; the
    data subject's access log (DSAR) joins them to that entry. The reason itself is only in the
    trail: `key` is a keyed hash of who, what and why. `open_key` is the key while the listen is
    open and NULL once closed, so a unique constraint lets only one open listen exist per key,
    whatever requests race. No foreign key: recordings are deleted without regard to it.
    """

    __tablename__ = "play_sessions"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    key: Mapped[str] = mapped_column(sa.String(64), index=True)
    open_key: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    actor: Mapped[str] = mapped_column(sa.String(64))
    recording_id: Mapped[uuid.UUID] = mapped_column(index=True)
    audit_seq: Mapped[int | None] = mapped_column(sa.BigInteger)
    started_at: Mapped[datetime]
    last_at: Mapped[datetime]
    ranges: Mapped[list[list[int]]] = mapped_column(sa.JSON)  # merged [start, end) in bytes


class AccessRequestState(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class AccessRequest(Base):
    """A manager's request for access (§6), which the DPO approves (maybe narrowed) or rejects.

    The terms are those of a grant; approval creates the grant through the grant service, so
    there is one implementation of the rules. Decided requests are kept, never edited again.
    """

    __tablename__ = "access_requests"
    __table_args__ = (sa.Index("ix_access_requests_state_created_at", "state", "created_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    requester_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("accounts.id"), index=True)
    purpose_code: Mapped[str] = mapped_column(sa.String(40))
    variant: Mapped[str] = mapped_column(sa.String(16))
    scope_kind: Mapped[str] = mapped_column(sa.String(16))
    scope_from: Mapped[datetime | None]
    scope_until: Mapped[datetime | None]
    scope_agent_id: Mapped[str | None] = mapped_column(sa.String(128))
    scope_team: Mapped[str | None] = mapped_column(sa.String(128))
    scope_recording_ids: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    valid_from: Mapped[datetime]
    valid_until: Mapped[datetime]
    justification: Mapped[str] = mapped_column(sa.Text)
    state: Mapped[str] = mapped_column(sa.String(16), default=AccessRequestState.PENDING)
    created_at: Mapped[datetime]
    decided_by: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("accounts.id"))
    decided_at: Mapped[datetime | None]
    decision_note: Mapped[str | None] = mapped_column(sa.String(500))
    grant_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("access_grants.id"))
