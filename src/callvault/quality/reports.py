"""Reports: averages, counts and fail rates per week, agent, team, form and question.

They read the weekly tables (`quality.aggregates`), never the evaluations, so twelve weeks of a
million evaluations cost a few hundred rows. Who sees what follows the grants:

* a QA manager sees what their live quality-assurance grants cover: an `all` grant everything,
  a `team` grant that team, an `agent` grant that agent's rows only, a `date_range` grant the
  weeks that lie wholly inside its range; a `recordings` grant lists single calls and gives no
  report (a weekly figure would reach past the listed calls);
* an agent sees only their own rows;
* the command line (`callvault qa report`, run by whoever operates the server) sees everything.

Team and question figures hold no agent identity; they are shown only where the whole team's
week is covered, so figures about agents outside a grant cannot be worked out from them.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from callvault.access.models import ScopeKind
from callvault.accounts.auth import Principal
from callvault.accounts.roles import Role
from callvault.errors import InvalidInput
from callvault.quality.coverage import qa_grants
from callvault.quality.feedback import agent_identities
from callvault.quality.models import (
    QaFormVersion,
    QaQuestion,
    QaWeeklyAgent,
    QaWeeklyQuestion,
    QaWeeklyTeam,
)
from callvault.quality.service import STOCKHOLM, week_of

MAX_WEEKS = 104
DEFAULT_WEEKS = 12


@dataclass(frozen=True)
class Window:
    """A part of the reports someone may see: a team (None: any), an agent (None: the whole
    team's figures) and weeks [week_from, week_until) (None: unbounded)."""

    team: str | None = None
    agent_id: str | None = None
    week_from: date | None = None
    week_until: date | None = None


EVERYTHING: tuple[Window, ...] = (Window(),)


def _monday_on_or_after(at: datetime) -> date:
    monday = week_of(at)
    start = datetime.combine(monday, time(0), STOCKHOLM)
    return monday if start >= at else monday + timedelta(days=7)


def windows_for(session: Session, principal: Principal, now: datetime) -> tuple[Window, ...]:
    """What this principal may see in reports (see the module docstring)."""
    if principal.role == Role.AGENT:
        return tuple(Window(agent_id=i) for i in agent_identities(session, principal))
    windows = []
    for grant in qa_grants(session, principal, now):
        kind = ScopeKind(grant.scope_kind)
        if kind == ScopeKind.ALL:
            windows.append(Window())
        elif kind == ScopeKind.TEAM:
            windows.append(Window(team=grant.scope_team))
        elif kind == ScopeKind.AGENT and grant.scope_agent_id:
            windows.append(Window(agent_id=grant.scope_agent_id.lower()))
        elif kind == ScopeKind.DATE_RANGE and grant.scope_from and grant.scope_until:
            until = week_of(grant.scope_until)  # that week is not wholly inside
            windows.append(
                Window(week_from=_monday_on_or_after(grant.scope_from), week_until=until)
            )
    return tuple(windows)


def period(week_from: date | None, week_until: date | None, now: datetime) -> tuple[date, date]:
    """[first Monday, Monday after the last week); by default the last twelve weeks."""
    end = week_of(datetime.combine(week_until, time(12), STOCKHOLM)) if week_until else week_of(now)
    start = (
        week_of(datetime.combine(week_from, time(12), STOCKHOLM))
        if week_from
        else end - timedelta(weeks=DEFAULT_WEEKS - 1)
    )
    if start > end:
        raise InvalidInput("the period ends before it starts")
    if (end - start).days // 7 + 1 > MAX_WEEKS:
        raise InvalidInput(f"a report covers at most {MAX_WEEKS} weeks")
    return start, end + timedelta(days=7)


class _Sum:
    __slots__ = ("evaluations", "score_sum", "failed")

    def __init__(self) -> None:
        self.evaluations = 0
        self.score_sum = 0.0
        self.failed = 0

    def add(self, evaluations: int, score_sum: float, failed: int) -> None:
        self.evaluations += evaluations
        self.score_sum += score_sum
        self.failed += failed

    def out(self) -> dict[str, Any]:
        n = self.evaluations
        return {
            "evaluations": n,
            "average": round(self.score_sum / n, 1) if n else None,
            "fail_rate": round(100 * self.failed / n, 1) if n else None,
        }


def _series(weeks: list[date], by_week: dict[date, _Sum]) -> list[dict[str, Any]]:
    return [{"week": w.isoformat(), **by_week.get(w, _Sum()).out()} for w in weeks]


def team_report(
    session: Session,
    windows: Iterable[Window],
    *,
    team: str | None,
    start: date,
    end: date,
    language: str = "sv",
) -> dict[str, Any]:
    """The report for one team (or every visible team when `team` is None), weeks [start, end)."""
    windows = tuple(windows)
    weeks = [start + timedelta(weeks=n) for n in range((end - start).days // 7)]

    def in_scope(table: Any, *, agents: bool) -> list[sa.ColumnElement[bool]]:
        """The period, the team asked for, and what the windows let this reader see."""
        clauses = [table.week >= start, table.week < end]
        if team is not None:
            clauses.append(table.team == team)
        seen = [_window_sql(table, w) for w in windows if agents or w.agent_id is None]
        clauses.append(sa.or_(*seen) if seen else sa.false())
        return clauses

    agent_rows = session.execute(
        sa.select(
            QaWeeklyAgent.week,
            QaWeeklyAgent.team,
            QaWeeklyAgent.agent_id,
            QaWeeklyAgent.form_id,
            QaWeeklyAgent.evaluations,
            QaWeeklyAgent.score_sum,
            QaWeeklyAgent.failed,
        ).where(*in_scope(QaWeeklyAgent, agents=True))
    ).all()
    team_rows = session.execute(
        sa.select(
            QaWeeklyTeam.week,
            QaWeeklyTeam.team,
            QaWeeklyTeam.form_id,
            QaWeeklyTeam.evaluations,
            QaWeeklyTeam.score_sum,
            QaWeeklyTeam.failed,
        ).where(*in_scope(QaWeeklyTeam, agents=False))
    ).all()
    team_visible = {(r.week, r.team) for r in team_rows}
    # Week, team and form figures: the team's own row where the whole team is visible (it
    # outlives the evaluations), the visible agents' rows elsewhere.
    by_week: dict[date, _Sum] = defaultdict(_Sum)
    by_team: dict[str, dict[date, _Sum]] = defaultdict(lambda: defaultdict(_Sum))
    by_form: dict[uuid.UUID, dict[date, _Sum]] = defaultdict(lambda: defaultdict(_Sum))
    for r in team_rows:
        for target in (by_week[r.week], by_team[r.team][r.week], by_form[r.form_id][r.week]):
            target.add(r.evaluations, r.score_sum, r.failed)
    by_agent: dict[tuple[str, str], dict[date, _Sum]] = defaultdict(lambda: defaultdict(_Sum))
    for a in agent_rows:
        by_agent[(a.team, a.agent_id)][a.week].add(a.evaluations, a.score_sum, a.failed)
        if (a.week, a.team) not in team_visible:
            for target in (by_week[a.week], by_team[a.team][a.week], by_form[a.form_id][a.week]):
                target.add(a.evaluations, a.score_sum, a.failed)

    question_rows = session.execute(
        sa.select(
            QaWeeklyQuestion.week,
            QaWeeklyQuestion.question_id,
            QaWeeklyQuestion.form_id,
            QaWeeklyQuestion.answered,
            QaWeeklyQuestion.points_sum,
            QaWeeklyQuestion.not_applicable,
            QaWeeklyQuestion.zero,
        ).where(*in_scope(QaWeeklyQuestion, agents=False))
    ).all()
    by_question: dict[uuid.UUID, dict[date, list[float]]] = defaultdict(
        lambda: defaultdict(lambda: [0, 0.0, 0, 0])
    )
    question_form: dict[uuid.UUID, uuid.UUID] = {}
    for q in question_rows:
        acc = by_question[q.question_id][q.week]
        acc[0] += q.answered
        acc[1] += q.points_sum
        acc[2] += q.not_applicable
        acc[3] += q.zero
        question_form[q.question_id] = q.form_id

    titles = _form_titles(session, list(by_form), language)
    texts = _question_texts(session, list(by_question), language)

    def total(series: dict[date, _Sum]) -> dict[str, Any]:
        s = _Sum()
        for v in series.values():
            s.add(v.evaluations, v.score_sum, v.failed)
        return s.out()

    def question_out(qid: uuid.UUID, series: dict[date, list[float]]) -> dict[str, Any]:
        answered = sum(int(v[0]) for v in series.values())
        points = sum(v[1] for v in series.values())
        return {
            "question_id": str(qid),
            "form_id": str(question_form[qid]),
            "text": texts.get(qid, ""),
            "answered": answered,
            "average": round(100 * points / answered, 1) if answered else None,
            "not_applicable": sum(int(v[2]) for v in series.values()),
            "zero": sum(int(v[3]) for v in series.values()),
            "weeks": [
                {
                    "week": w.isoformat(),
                    "answered": int(series[w][0]) if w in series else 0,
                    "average": (
                        round(100 * series[w][1] / series[w][0], 1)
                        if w in series and series[w][0]
                        else None
                    ),
                }
                for w in weeks
            ],
        }

    return {
        "team": team,
        "from": start.isoformat(),
        "to": (end - timedelta(days=1)).isoformat(),
        "weeks": [w.isoformat() for w in weeks],
        "total": total(by_week),
        "by_week": _series(weeks, by_week),
        "by_team": [
            {"team": t or None, **total(s), "weeks": _series(weeks, s)}
            for t, s in sorted(by_team.items())
        ],
        "by_agent": [
            {"agent_id": a, "team": t or None, **total(s), "weeks": _series(weeks, s)}
            for (t, a), s in sorted(by_agent.items())
        ],
        "by_form": [
            {"form_id": str(f), "title": titles.get(f, ""), **total(s), "weeks": _series(weeks, s)}
            for f, s in sorted(by_form.items(), key=lambda kv: titles.get(kv[0], ""))
        ],
        "by_question": [question_out(q, s) for q, s in by_question.items()],
    }


def _window_sql(table: Any, window: Window) -> sa.ColumnElement[bool]:
    clauses: list[sa.ColumnElement[bool]] = []
    if window.team is not None:
        clauses.append(table.team == window.team)
    if window.agent_id is not None:
        clauses.append(sa.func.lower(table.agent_id) == window.agent_id)
    if window.week_from is not None:
        clauses.append(table.week >= window.week_from)
    if window.week_until is not None:
        clauses.append(table.week < window.week_until)
    return sa.and_(sa.true(), *clauses)


def _form_titles(
    session: Session, form_ids: list[uuid.UUID], language: str
) -> dict[uuid.UUID, str]:
    if not form_ids:
        return {}
    rows = session.execute(
        sa.select(QaFormVersion.form_id, QaFormVersion.title_sv, QaFormVersion.title_en)
        .where(QaFormVersion.form_id.in_(form_ids))
        .order_by(QaFormVersion.version)
    )
    return {f: (sv if language == "sv" else en) for f, sv, en in rows}


def _question_texts(
    session: Session, question_ids: list[uuid.UUID], language: str
) -> dict[uuid.UUID, str]:
    if not question_ids:
        return {}
    rows = session.execute(
        sa.select(QaQuestion.id, QaQuestion.text_sv, QaQuestion.text_en).where(
            QaQuestion.id.in_(question_ids)
        )
    )
    return {q: (sv if language == "sv" else en) for q, sv, en in rows}


CSV_COLUMNS = ("level", "key", "label", "week", "evaluations", "average", "fail_rate")


def report_csv(report: dict[str, Any]) -> str:
    """The report as CSV, one row per level, key and week (level: week, team, agent, form,
    question; for questions `evaluations` counts the answers that were not N/A)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for w in report["by_week"]:
        writer.writerow(("week", "", "", w["week"], w["evaluations"], w["average"], w["fail_rate"]))
    for level, items, key, label in (
        ("team", report["by_team"], "team", "team"),
        ("agent", report["by_agent"], "agent_id", "team"),
        ("form", report["by_form"], "form_id", "title"),
    ):
        for item in items:
            for w in item["weeks"]:
                writer.writerow(
                    (
                        level,
                        item[key] or "",
                        item[label] or "",
                        w["week"],
                        w["evaluations"],
                        w["average"],
                        w["fail_rate"],
                    )
                )
    for q in report["by_question"]:
        for w in q["weeks"]:
            writer.writerow(
                (
                    "question",
                    q["question_id"],
                    q["text"],
                    w["week"],
                    w["answered"],
                    w["average"],
                    "",
                )
            )
    return out.getvalue()


def _cell(value: str | None) -> str:
    """A label safe to open in a spreadsheet: no formula from a form's text."""
    text = value or ""
    return "'" + text if text.startswith(("=", "+", "-", "@")) else text
