"""The consent rate: accepted, refused and no answer per UTC day and policy version (§4), with
the withdrawals registered beside it.

`accepted` counts consent evidence from every source (the IVR and ingested recordings, whose
platform asked); `withdrawn` counts offers of the prompt that the caller answered with 9;
`withdrawals` counts every registered withdrawal (IVR, web, API, CLI), from the withdrawals
themselves, under the policy version in force when each was registered.
"""

from __future__ import annotations

import bisect
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from callvault.consent.models import ConsentOutcome
from callvault.errors import InvalidInput
from callvault.policy.models import PolicyVersion

MAX_DAYS = 366


@dataclass
class RateRow:
    """Counts for one day and policy version (or a total when day/version are None)."""

    day: date | None
    policy_version: int | None
    accepted: int = 0
    refused: int = 0
    no_answer: int = 0
    withdrawn: int = 0
    withdrawals: int = 0  # registered withdrawals, every channel; not offers of the prompt

    @property
    def offered(self) -> int:
        return self.accepted + self.refused + self.no_answer + self.withdrawn

    @property
    def rate(self) -> float | None:
        """Share of offers that ended in consent; None when nothing was offered."""
        return round(self.accepted / self.offered, 4) if self.offered else None

    def as_dict(self) -> dict[str, object]:
        data = asdict(self)
        data["day"] = self.day.isoformat() if self.day else None
        data["offered"] = self.offered
        data["rate"] = self.rate
        return data


@dataclass
class ConsentRate:
    start: date
    end: date
    rows: list[RateRow] = field(default_factory=list)
    by_version: list[RateRow] = field(default_factory=list)
    total: RateRow = field(default_factory=lambda: RateRow(None, None))

    def as_dict(self) -> dict[str, object]:
        return {
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "days": [r.as_dict() for r in self.rows],
            "by_version": [r.as_dict() for r in self.by_version],
            "total": self.total.as_dict(),
        }


def consent_rate(session: Session, start: date, end: date) -> ConsentRate:
    """Counts per day and version for the UTC days start..end (inclusive), plus totals."""
    if end < start:
        raise InvalidInput("the end date is before the start date")
    if (end - start).days >= MAX_DAYS:
        raise InvalidInput(f"ask for at most {MAX_DAYS} days at a time")
    query = (
        sa.select(
            ConsentOutcome.day,
            PolicyVersion.number,
            ConsentOutcome.outcome,
            sa.func.count(),
        )
        .join(PolicyVersion, PolicyVersion.id == ConsentOutcome.policy_version_id)
        .where(ConsentOutcome.day >= start, ConsentOutcome.day <= end)
        .group_by(ConsentOutcome.day, PolicyVersion.number, ConsentOutcome.outcome)
    )
    result = ConsentRate(start, end)
    days: dict[tuple[date, int], RateRow] = {}
    versions: dict[int, RateRow] = {}
    for day, number, outcome, count in session.execute(query):
        for row in (
            days.setdefault((day, number), RateRow(day, number)),
            versions.setdefault(number, RateRow(None, number)),
            result.total,
        ):
            setattr(row, outcome, getattr(row, outcome) + int(count))
    for day, version in _withdrawals(session, start, end):
        rows = [result.total]
        if version is not None:
            rows += [
                days.setdefault((day, version), RateRow(day, version)),
                versions.setdefault(version, RateRow(None, version)),
            ]
        for counted in rows:
            counted.withdrawals += 1
    result.rows = [days[k] for k in sorted(days)]
    result.by_version = [versions[k] for k in sorted(versions)]
    return result


def _withdrawals(session: Session, start: date, end: date) -> list[tuple[date, int | None]]:
    """(UTC day, number of the policy version then in force) of each withdrawal registered in
    the days start..end. Withdrawals are few, so they are bucketed here rather than in SQL."""
    from callvault.withdrawal.models import Withdrawal

    since = datetime.combine(start, time(), tzinfo=UTC)
    until = datetime.combine(end + timedelta(days=1), time(), tzinfo=UTC)
    versions = session.execute(
        sa.select(PolicyVersion.effective_from, PolicyVersion.number).order_by(
            PolicyVersion.effective_from, PolicyVersion.number
        )
    ).all()
    starts = [effective for effective, _ in versions]
    found: list[tuple[date, int | None]] = []
    for (registered,) in session.execute(
        sa.select(Withdrawal.registered_at).where(
            Withdrawal.registered_at >= since, Withdrawal.registered_at < until
        )
    ):
        at = registered.astimezone(UTC)
        index = bisect.bisect_right(starts, at) - 1
        found.append((at.date(), versions[index].number if index >= 0 else None))
    return found
