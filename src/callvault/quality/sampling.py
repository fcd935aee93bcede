"""Sampling: N random calls per agent per period from the recordings a QA manager's grants
cover, drawn reproducibly from a seed that is shown and audited, so nobody can pick the calls.

The draw is a pure function of the population and the seed: each covered recording is ranked
by SHA-256 of `"{seed}|{recording id}"`, and every agent's N lowest-ranked calls are the
sample. A random seed makes that a uniform random draw; the same seed over the same calls gives
the same sample whatever order they are read in. The audit entry holds the seed, the
population's size and a SHA-256 of its ids in id order, so anyone can redo the draw and check.
The population is read once as a stream, keeping N calls per agent: a period with a million
covered calls costs no more memory than a small one.
"""

from __future__ import annotations

import hashlib
import heapq
import re
import secrets
import uuid
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from callvault.access import service as access
from callvault.accounts.auth import Principal
from callvault.errors import InvalidInput, NotFound
from callvault.quality import coverage, forms
from callvault.quality.models import QaEvaluation, QaSample, QaSampleItem
from callvault.recordings.models import Recording
from callvault.runtime import Runtime

MAX_PER_AGENT = 50
MAX_PERIOD = timedelta(days=92)
MAX_SEED = 64
SEED = re.compile(r"[0-9a-f]{16}")


class Draw:
    """Keeps, per agent, the `per_agent` recordings with the lowest rank under `seed`."""

    def __init__(self, seed: str, per_agent: int) -> None:
        self.seed = seed
        self.per_agent = per_agent
        # per agent a max-heap (negated ranks) of the best calls so far
        self._best: dict[str, list[tuple[int, str, uuid.UUID]]] = {}

    def rank(self, recording_id: uuid.UUID) -> int:
        digest = hashlib.sha256(f"{self.seed}|{recording_id}".encode()).digest()
        return int.from_bytes(digest, "big")

    def add(self, recording_id: uuid.UUID, agent: str) -> None:
        heap = self._best.setdefault(agent, [])
        item = (-self.rank(recording_id), str(recording_id), recording_id)
        if len(heap) < self.per_agent:
            heapq.heappush(heap, item)
        elif item > heap[0]:
            heapq.heapreplace(heap, item)

    def chosen(self) -> list[tuple[uuid.UUID, str]]:
        """Agents in order, each agent's calls lowest rank first."""
        return [
            (rid, agent)
            for agent in sorted(self._best)
            for _, _, rid in sorted(self._best[agent], reverse=True)
        ]


def draw(
    population: Iterable[tuple[uuid.UUID, str]], seed: str, per_agent: int
) -> list[tuple[uuid.UUID, str]]:
    """`per_agent` recordings per agent from (recording id, agent) pairs, fixed by `seed`."""
    chooser = Draw(seed, per_agent)
    for rid, agent in population:
        chooser.add(rid, agent)
    return chooser.chosen()


def covered_population(
    session: Session, principal: Principal, start: datetime, until: datetime, now: datetime
) -> Iterator[tuple[uuid.UUID, str]]:
    """The covered, readable recordings of the period as (id, agent), in id order, streamed."""
    grants = coverage.qa_grants(session, principal, now)
    if not grants:
        return
    rows = session.execute(
        sa.select(Recording.id, Recording.agent_id)
        .where(
            access._readable(now),
            Recording.started_at >= start,
            Recording.started_at < until,
            sa.or_(*(access.covers(g) for g in grants)),
        )
        .order_by(Recording.id)
        .execution_options(yield_per=5000)
    )
    yield from ((row[0], row[1]) for row in rows)


def create_sample(
    session: Session,
    runtime: Runtime,
    principal: Principal,
    *,
    form_id: uuid.UUID,
    start: datetime,
    until: datetime,
    per_agent: int,
    seed: str | None = None,
    source: str,
) -> QaSample:
    """Draw a sample into a work queue. The seed is drawn here unless one is given to redo an
    earlier draw; either way it is audited."""
    if start.tzinfo is None or until.tzinfo is None:
        raise InvalidInput("the period needs a time zone")
    if until <= start:
        raise InvalidInput("the period ends before it starts")
    if until - start > MAX_PERIOD:
        raise InvalidInput("a sampling period is at most 92 days")
    if not 1 <= per_agent <= MAX_PER_AGENT:
        raise InvalidInput(f"draw from 1 to {MAX_PER_AGENT} calls per agent")
    if seed is not None and not SEED.fullmatch(seed):
        raise InvalidInput("a seed is 16 hexadecimal characters, as drawn")
    forms.published_version(session, form_id)
    now = runtime.clock.now()
    given = seed is not None
    seed = seed or secrets.token_hex(8)
    chooser = Draw(seed, per_agent)
    digest = hashlib.sha256()
    population = 0
    for rid, agent in covered_population(session, principal, start, until, now):
        chooser.add(rid, agent)
        digest.update(f"{rid}\n".encode())
        population += 1
    chosen = chooser.chosen()
    sample = QaSample(
        id=uuid.uuid4(),
        created_by=principal.id,
        created_at=now,
        form_id=form_id,
        seed=seed,
        period_from=start,
        period_until=until,
        per_agent=per_agent,
        population=population,
        population_sha256=digest.hexdigest(),
    )
    sample.items = [
        QaSampleItem(position=n, recording_id=rid, agent_id=agent)
        for n, (rid, agent) in enumerate(chosen)
    ]
    session.add(sample)
    session.flush()
    from callvault.audit.service import record

    record(
        session,
        actor=principal.actor,
        action="qa.sample.create",
        object_type="qa_sample",
        object_id=str(sample.id),
        source=source,
        details={
            "seed": seed,
            "seed_given": given,
            "per_agent": per_agent,
            "population": population,
            "population_sha256": sample.population_sha256,
            "drawn": len(chosen),
        },
    )
    return sample


def own_sample(session: Session, principal: Principal, sample_id: uuid.UUID) -> QaSample:
    sample = session.get(QaSample, sample_id)
    if sample is None or sample.created_by != principal.id:
        raise NotFound("no such sample")
    return sample


def own_samples(session: Session, principal: Principal) -> list[QaSample]:
    return list(
        session.scalars(
            sa.select(QaSample)
            .where(QaSample.created_by == principal.id)
            .order_by(QaSample.created_at.desc())
            .limit(100)
        )
    )


def sample_out(
    session: Session, runtime: Runtime, principal: Principal, sample: QaSample
) -> dict[str, Any]:
    """The sample as a work queue: only the calls a live grant still covers are listed."""
    now = runtime.clock.now()
    ids = [i.recording_id for i in sample.items]
    covered: set[uuid.UUID] = set()
    grants = coverage.qa_grants(session, principal, now)
    if ids and grants:
        covered = set(
            session.scalars(
                sa.select(Recording.id).where(
                    Recording.id.in_(ids),
                    access._readable(now),
                    sa.or_(*(access.covers(g) for g in grants)),
                )
            )
        )
    states = dict(
        session.execute(
            sa.select(QaEvaluation.id, QaEvaluation.state).where(
                QaEvaluation.id.in_([i.evaluation_id for i in sample.items if i.evaluation_id])
            )
        ).all()
    )
    return {
        "id": str(sample.id),
        "seed": sample.seed,
        "form_id": str(sample.form_id),
        "from": sample.period_from.isoformat(),
        "until": sample.period_until.isoformat(),
        "per_agent": sample.per_agent,
        "population": sample.population,
        "population_sha256": sample.population_sha256,
        "created_at": sample.created_at.isoformat(),
        "items": [
            {
                "recording_id": str(i.recording_id),
                "agent_id": i.agent_id,
                "evaluation_id": str(i.evaluation_id) if i.evaluation_id else None,
                "state": states.get(i.evaluation_id, "todo") if i.evaluation_id else "todo",
            }
            for i in sample.items
            if i.recording_id in covered
        ],
    }
