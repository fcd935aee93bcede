"""Training clips, their marks, notes and reviews, leak reports, tags and collections."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator, TypeEngine

from callvault.db import Base, new_id


class ClipState(enum.StrEnum):
    DRAFT = "draft"  # waiting for a second person's review (new, changed, or leak reported)
    APPROVED = "approved"  # in the library
    REJECTED = "rejected"
    REMOVED = "removed"  # its source was deleted (retention, withdrawal, fsck): keys destroyed


class TrainingTag(Base):
    """A situation tag from the managed vocabulary, with Swedish and English labels."""

    __tablename__ = "training_tags"

    code: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    label_sv: Mapped[str] = mapped_column(sa.String(80))
    label_en: Mapped[str] = mapped_column(sa.String(80))
    created_by: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime]


class TrainingClip(Base):
    """A range of a recording's pseudonymised variant, with its own encrypted audio.

    No foreign key to recordings: deletion of a recording must not depend on clips (the
    deletion hook removes the clip's keys in its own transaction), and a removed clip keeps its
    row so collections can say it was removed.
    """

    __tablename__ = "training_clips"
    __table_args__ = (
        sa.Index("ix_training_clips_state_started", "state", "recording_started_at", "id"),
        sa.CheckConstraint("end_s > start_s", name="clip_range"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    recording_id: Mapped[uuid.UUID] = mapped_column(index=True)
    author_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("accounts.id"))
    start_s: Mapped[float]
    end_s: Mapped[float]
    title: Mapped[str] = mapped_column(sa.String(200))
    lesson: Mapped[str] = mapped_column(sa.Text)
    state: Mapped[str] = mapped_column(sa.String(16), default=ClipState.DRAFT)
    # Bumped by every change of range or marks: a review counts only for the version heard.
    version: Mapped[int] = mapped_column(default=1)
    team: Mapped[str | None] = mapped_column(sa.String(128), index=True)
    recording_started_at: Mapped[datetime]
    # Set at approval when a policy purpose keeps approved clips longer than their recording.
    retained_until: Mapped[datetime | None]
    removed_at: Mapped[datetime | None]
    removed_reason: Mapped[str | None] = mapped_column(sa.String(32))
    created_at: Mapped[datetime]
    changed_at: Mapped[datetime]
    approved_by: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("accounts.id"))
    approved_at: Mapped[datetime | None]

    tags: Mapped[list[TrainingClipTag]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="TrainingClipTag.tag_code"
    )
    marks: Mapped[list[TrainingClipMark]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="TrainingClipMark.start_s"
    )
    notes: Mapped[list[TrainingClipNote]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="TrainingClipNote.at_s"
    )
    search: Mapped[TrainingClipSearch | None] = relationship(
        cascade="all, delete-orphan", lazy="select"
    )

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s

    @property
    def tag_codes(self) -> list[str]:
        return [t.tag_code for t in self.tags]


class SearchTerms(TypeDecorator[str]):
    """Space-separated search terms: a `tsvector` on PostgreSQL (the terms are plain lexemes,
    so the text is a valid tsvector literal and needs no parsing per row), text elsewhere."""

    impl = sa.Text
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(TSVECTOR())
        return dialect.type_descriptor(sa.Text())

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else str(value).replace("'", "")


class TrainingClipSearch(Base):
    """Keyed hashes of the words of a clip's pseudonymised transcript (never the words).

    A table of its own so the library's newest-first walk over clips stays on small rows, and a
    search takes its matching clips from the GIN index on PostgreSQL.
    """

    __tablename__ = "training_clip_search"
    __table_args__ = (
        # GIN on PostgreSQL; SQLite searches by LIKE and keeps a plain index it does not use.
        sa.Index("ix_training_clip_search_terms", "terms", postgresql_using="gin"),
    )

    clip_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("training_clips.id", ondelete="CASCADE"), primary_key=True
    )
    terms: Mapped[str] = mapped_column(SearchTerms())


class TrainingClipTag(Base):
    __tablename__ = "training_clip_tags"
    __table_args__ = (sa.Index("ix_training_clip_tags_tag_clip", "tag_code", "clip_id"),)

    clip_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("training_clips.id", ondelete="CASCADE"), primary_key=True
    )
    tag_code: Mapped[str] = mapped_column(sa.ForeignKey("training_tags.code"), primary_key=True)


class TrainingClipMark(Base):
    """An interval masked in every channel of the clip, in seconds of the *recording*, so a
    change of the clip's range keeps every mark where it was heard."""

    __tablename__ = "training_clip_marks"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    clip_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("training_clips.id", ondelete="CASCADE"), index=True
    )
    start_s: Mapped[float]
    end_s: Mapped[float]
    source: Mapped[str] = mapped_column(sa.String(16))  # review | leak_report
    created_by: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("accounts.id"))
    created_at: Mapped[datetime]


class TrainingClipNote(Base):
    """A teaching note at a moment of the clip (seconds of the recording, like marks)."""

    __tablename__ = "training_clip_notes"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    clip_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("training_clips.id", ondelete="CASCADE"), index=True
    )
    at_s: Mapped[float]
    text: Mapped[str] = mapped_column(sa.Text)
    created_by: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("accounts.id"))
    created_at: Mapped[datetime]


class TrainingClipHearing(Base):
    """A person fetched the clip's audio at this version (four eyes: approval needs one)."""

    __tablename__ = "training_clip_hearings"

    clip_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("training_clips.id", ondelete="CASCADE"), primary_key=True
    )
    account_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("accounts.id"), primary_key=True)
    version: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime]


class TrainingClipReview(Base):
    """One review decision, for the version the reviewer heard."""

    __tablename__ = "training_clip_reviews"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    clip_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("training_clips.id", ondelete="CASCADE"), index=True
    )
    reviewer_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("accounts.id"))
    version: Mapped[int]
    decision: Mapped[str] = mapped_column(sa.String(16))
    comment: Mapped[str] = mapped_column(sa.Text)
    at: Mapped[datetime]


class LeakReport(Base):
    """Someone heard an identifier at a moment of a clip or a pseudonymised recording."""

    __tablename__ = "training_leak_reports"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    recording_id: Mapped[uuid.UUID] = mapped_column(index=True)
    clip_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("training_clips.id", ondelete="SET NULL"), index=True
    )
    at_s: Mapped[float]  # seconds into the recording
    reported_by: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("accounts.id"))
    reported_at: Mapped[datetime] = mapped_column(index=True)


class TrainingCollection(Base):
    """An ordered playlist of clips with a description, e.g. for a new employee's first week."""

    __tablename__ = "training_collections"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    title: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    created_by: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("accounts.id"))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    items: Mapped[list[TrainingCollectionItem]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="TrainingCollectionItem.position"
    )


class TrainingCollectionItem(Base):
    __tablename__ = "training_collection_items"

    collection_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("training_collections.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(primary_key=True)
    clip_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("training_clips.id", ondelete="CASCADE"), index=True
    )
