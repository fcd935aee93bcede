"""Key epochs (§7 reaching into backups): a recording's keys are wrapped by its deletion week's KEK.

An epoch is the ISO week (UTC) in which a recording is due for deletion, e.g. `2026-W23`. Once
the week is over, every recording of the epoch is past its deletion time; the retention sweep
then destroys the epoch's KEK, so no backup taken before can decrypt any of them again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from callvault.runtime import Runtime

_EPOCH = re.compile(r"^(\d{4})-W(\d{2})$")


@dataclass(frozen=True)
class EpochState:
    """One epoch in the keyring: its KEKs (the last one current) and when they were destroyed."""

    epoch: str
    kek_ids: tuple[str, ...]
    destroyed_at: datetime | None

    @property
    def live(self) -> bool:
        return self.destroyed_at is None


def epoch_of(expires_at: datetime) -> str:
    """The epoch of a recording due for deletion at `expires_at`."""
    at = expires_at if expires_at.tzinfo else expires_at.replace(tzinfo=UTC)
    year, week, _ = at.astimezone(UTC).isocalendar()
    return f"{year:04d}-W{week:02d}"


def epoch_start(epoch: str) -> datetime:
    match = _EPOCH.match(epoch)
    if match is None:
        raise ValueError(f"not an epoch: {epoch!r}")
    monday = date.fromisocalendar(int(match[1]), int(match[2]), 1)
    return datetime.combine(monday, time(0), tzinfo=UTC)


def epoch_end(epoch: str) -> datetime:
    """The first moment after the epoch: every recording in it is due before this."""
    return epoch_start(epoch) + timedelta(days=7)


def is_epoch(text: str) -> bool:
    return _EPOCH.match(text) is not None


@dataclass(frozen=True)
class EpochSummary:
    """`callvault keys epochs`: one epoch, its week, how many recordings it holds, its KEK."""

    epoch: str
    week_start: str
    week_end: str
    recordings: int
    kek: str  # "live" or "destroyed"
    destroyed_at: str | None

    def as_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


def summarise_epochs(runtime: Runtime) -> list[EpochSummary]:
    import sqlalchemy as sa

    from callvault.db import transaction
    from callvault.vault.models import Artifact

    states = runtime.keyring.epochs()
    epoch_by_kek = {k: s.epoch for s in states for k in s.kek_ids}
    counts: dict[str, int] = {}
    with transaction(runtime.sessions) as session:
        rows = session.execute(
            sa.select(Artifact.kek_id, sa.func.count(sa.distinct(Artifact.owner_id)))
            .where(Artifact.kek_id.in_(list(epoch_by_kek)))
            .group_by(Artifact.kek_id)
        ).all()
    for kek_id, owners in rows:
        # An owner's keys share one KEK, except mid-rotation: count it once per KEK at most.
        counts[epoch_by_kek[kek_id]] = counts.get(epoch_by_kek[kek_id], 0) + int(owners)
    return [
        EpochSummary(
            epoch=s.epoch,
            week_start=epoch_start(s.epoch).date().isoformat(),
            week_end=(epoch_end(s.epoch) - timedelta(days=1)).date().isoformat(),
            recordings=counts.get(s.epoch, 0),
            kek="live" if s.live else "destroyed",
            destroyed_at=s.destroyed_at.isoformat() if s.destroyed_at else None,
        )
        for s in states
    ]
