"""The library: search the clips a training grant lets you see, and ordered collections."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, TSQUERY
from sqlalchemy.orm import Session

from callvault.accounts.auth import Principal
from callvault.errors import InvalidInput, NotFound
from callvault.recordings.models import Recording
from callvault.runtime import Runtime
from callvault.training.access import training_grants, visible_condition
from callvault.training.models import (
    ClipState,
    TrainingClip,
    TrainingClipSearch,
    TrainingClipTag,
    TrainingCollection,
    TrainingCollectionItem,
)
from callvault.training.service import MAX_LESSON, MAX_TITLE, _text
from callvault.training.transcript import term_hasher, words_of

MAX_PAGE = 100
MAX_QUERY_WORDS = 8
MAX_COLLECTION = 200
FEW_MATCHES = 5000  # one array parameter; beyond it the newest-first walk finds a page fast
NEWEST = (TrainingClip.recording_started_at.desc(), TrainingClip.id.desc())


@dataclass(frozen=True)
class ClipQuery:
    state: str | None = None
    q: str | None = None
    tag: str | None = None
    team: str | None = None
    started_from: datetime | None = None
    started_until: datetime | None = None
    limit: int = 50


def search_clips(
    session: Session, runtime: Runtime, principal: Principal, query: ClipQuery
) -> list[TrainingClip]:
    """Clips the principal's training grants cover, newest call first, filtered.

    `q` matches words of the clip's pseudonymised transcript through their keyed hashes (all
    words must occur); on PostgreSQL a full-text index over the hashes answers it.
    """
    stmt = search_statement(session, runtime, principal, query)
    return [] if stmt is None else list(session.scalars(stmt))


def search_statement(
    session: Session, runtime: Runtime, principal: Principal, query: ClipQuery
) -> sa.Select[TrainingClip] | None:
    """The library query (None when the principal has no training grant)."""
    if query.state is not None and query.state not in {s.value for s in ClipState}:
        raise InvalidInput("unknown clip state")
    now = runtime.clock.now()
    grants = training_grants(session, principal, now)
    if not grants:
        return None
    stmt = (
        sa.select(TrainingClip)
        .join(Recording, Recording.id == TrainingClip.recording_id)
        .where(visible_condition(grants, now))
    )
    if query.state:
        stmt = stmt.where(TrainingClip.state == query.state)
    if query.tag:
        stmt = stmt.where(
            sa.exists().where(
                TrainingClipTag.clip_id == TrainingClip.id,
                TrainingClipTag.tag_code == query.tag.strip().lower(),
            )
        )
    if query.team:
        stmt = stmt.where(TrainingClip.team == query.team)
    if query.started_from:
        stmt = stmt.where(TrainingClip.recording_started_at >= query.started_from)
    if query.started_until:
        stmt = stmt.where(TrainingClip.recording_started_at < query.started_until)
    limit = max(1, min(query.limit, MAX_PAGE))
    words = words_of(query.q or "")[:MAX_QUERY_WORDS]
    if words:
        hasher = term_hasher(runtime.keyring)
        terms = [hasher(w) for w in words]
        matching = sa.select(TrainingClipSearch.clip_id)
        if session.get_bind().dialect.name == "postgresql":
            # The GIN index over the stored tsvector answers this. The terms are quoted
            # lexemes, so no parser reads a hash as a number and splits it.
            wanted = sa.cast(" & ".join(f"'{t}'" for t in terms), TSQUERY)
            matching = matching.where(TrainingClipSearch.terms.op("@@")(wanted))
            # Few matches (a rare word, two words): take them from the index first, so the
            # newest-first walk does not test thousands of clips. Many (a common word): the walk
            # finds its page among the first rows, testing each against the stored terms.
            few = session.scalars(matching.limit(FEW_MATCHES + 1)).all()
            if len(few) <= FEW_MATCHES:
                ids = sa.bindparam("matching_ids", list(few), type_=ARRAY(sa.Uuid()))
                return stmt.where(TrainingClip.id == sa.any_(ids)).order_by(*NEWEST).limit(limit)
        else:
            for t in terms:
                matching = matching.where((" " + TrainingClipSearch.terms + " ").contains(f" {t} "))
        stmt = stmt.where(TrainingClip.id.in_(matching))
    return stmt.order_by(*NEWEST).limit(limit)


def visible_ids(
    session: Session, runtime: Runtime, principal: Principal, ids: Sequence[uuid.UUID]
) -> set[uuid.UUID]:
    if not ids:
        return set()
    now = runtime.clock.now()
    grants = training_grants(session, principal, now)
    return set(
        session.scalars(
            sa.select(TrainingClip.id)
            .join(Recording, Recording.id == TrainingClip.recording_id)
            .where(TrainingClip.id.in_(list(ids)), visible_condition(grants, now))
        )
    )


# --- collections -------------------------------------------------------------------------------


@dataclass(frozen=True)
class CollectionEntry:
    """One place in a collection: the clip if the viewer may play it, else why not."""

    position: int
    clip_id: uuid.UUID
    clip: TrainingClip | None
    status: str  # playable | under_review | removed | unavailable


def _clip_ids(
    session: Session, runtime: Runtime, principal: Principal, ids: Sequence[uuid.UUID]
) -> list[uuid.UUID]:
    if len(ids) > MAX_COLLECTION:
        raise InvalidInput(f"a collection holds at most {MAX_COLLECTION} clips")
    unique = list(dict.fromkeys(ids))
    visible = visible_ids(session, runtime, principal, unique)
    approved = set(
        session.scalars(
            sa.select(TrainingClip.id).where(
                TrainingClip.id.in_(unique), TrainingClip.state == ClipState.APPROVED
            )
        )
    )
    if set(unique) - (visible & approved):
        raise InvalidInput("a collection holds approved clips you can see")
    return unique


def create_collection(
    session: Session,
    runtime: Runtime,
    principal: Principal,
    *,
    title: str,
    description: str,
    clip_ids: Sequence[uuid.UUID],
    source: str | None = None,
) -> TrainingCollection:
    now = runtime.clock.now()
    collection = TrainingCollection(
        title=_text(title, "title", MAX_TITLE),
        description=_text(description, "description", MAX_LESSON, required=False),
        created_by=principal.id,
        created_at=now,
        updated_at=now,
    )
    collection.items = [
        TrainingCollectionItem(position=n, clip_id=cid)
        for n, cid in enumerate(_clip_ids(session, runtime, principal, clip_ids))
    ]
    session.add(collection)
    session.flush()
    _audit(session, principal, "training.collection_create", collection, source)
    return collection


def update_collection(
    session: Session,
    runtime: Runtime,
    principal: Principal,
    collection_id: uuid.UUID,
    *,
    title: str | None = None,
    description: str | None = None,
    clip_ids: Sequence[uuid.UUID] | None = None,
    source: str | None = None,
) -> TrainingCollection:
    collection = get_collection(session, collection_id)
    if title is not None:
        collection.title = _text(title, "title", MAX_TITLE)
    if description is not None:
        collection.description = _text(description, "description", MAX_LESSON, required=False)
    if clip_ids is not None:
        ids = _clip_ids(session, runtime, principal, clip_ids)
        collection.items = []
        session.flush()
        collection.items = [
            TrainingCollectionItem(position=n, clip_id=c) for n, c in enumerate(ids)
        ]
    collection.updated_at = runtime.clock.now()
    session.flush()
    _audit(session, principal, "training.collection_update", collection, source)
    return collection


def delete_collection(
    session: Session, principal: Principal, collection_id: uuid.UUID, source: str | None = None
) -> None:
    collection = get_collection(session, collection_id)
    _audit(session, principal, "training.collection_delete", collection, source)
    session.delete(collection)
    session.flush()


def get_collection(session: Session, collection_id: uuid.UUID) -> TrainingCollection:
    collection = session.get(TrainingCollection, collection_id)
    if collection is None:
        raise NotFound("no such collection")
    return collection


def list_collections(session: Session) -> list[TrainingCollection]:
    return list(session.scalars(sa.select(TrainingCollection).order_by(TrainingCollection.title)))


def entries(
    session: Session, runtime: Runtime, principal: Principal, collection: TrainingCollection
) -> list[CollectionEntry]:
    ids = [item.clip_id for item in collection.items]
    visible = visible_ids(session, runtime, principal, ids)
    clips = {
        c.id: c for c in session.scalars(sa.select(TrainingClip).where(TrainingClip.id.in_(ids)))
    }
    out = []
    for item in collection.items:
        clip = clips.get(item.clip_id)
        if clip is not None and clip.state == ClipState.REMOVED:
            out.append(CollectionEntry(item.position, item.clip_id, None, "removed"))
        elif clip is None or item.clip_id not in visible:
            out.append(CollectionEntry(item.position, item.clip_id, None, "unavailable"))
        elif clip.state != ClipState.APPROVED:
            out.append(CollectionEntry(item.position, item.clip_id, clip, "under_review"))
        else:
            out.append(CollectionEntry(item.position, item.clip_id, clip, "playable"))
    return out


def _audit(
    session: Session,
    principal: Principal,
    action: str,
    collection: TrainingCollection,
    source: str | None,
) -> None:
    from callvault.audit.service import record

    record(
        session,
        actor=principal.actor,
        action=action,
        object_type="training_collection",
        object_id=str(collection.id),
        source=source,
        details={"clips": len(collection.items)},
    )


def all_clips(session: Session, state: str | None = None, limit: int = 1000) -> list[TrainingClip]:
    """Every clip (for the server's operator on the command line), newest first."""
    if state is not None and state not in {s.value for s in ClipState}:
        raise InvalidInput("unknown clip state")
    stmt = sa.select(TrainingClip).order_by(TrainingClip.created_at.desc(), TrainingClip.id)
    if state:
        stmt = stmt.where(TrainingClip.state == state)
    return list(session.scalars(stmt.limit(limit)))
