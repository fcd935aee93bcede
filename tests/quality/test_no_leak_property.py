"""Property (hypothesis): whatever a QA manager's grants, they can evaluate exactly the calls a
live QA grant covers (the rest get 404), and reports, their evaluation list, samples and other
evaluators' evaluations show nothing outside them, through the service and through the routes.

The oracle is plain Python over the grants as written, with its own reading of which weeks a
date range covers (weeks that begin and end inside it)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from callvault.access.grants import GrantScope, revoke_grant
from callvault.access.models import ScopeKind
from callvault.accounts.models import Account
from callvault.accounts.roles import Role
from callvault.clock import FixedClock
from callvault.errors import NotFound
from callvault.quality import reports, service
from callvault.runtime import Runtime
from tests.access.conftest import MakeAccount, MakeGrant, MakeRecording, principal_of
from tests.quality.conftest import REASON, ClientFor, MakeEvaluation

AGENTS = ("a-1", "a-2")
TEAMS = ("t-1", "t-2")
# the test clock is Monday 2 March 2026, 09:00 UTC; Stockholm is UTC+1 then
MONDAY = datetime(2026, 3, 1, 23, 0, tzinfo=UTC)  # Monday 2 March 00:00 Stockholm
RANGES = (
    (MONDAY - timedelta(weeks=2), MONDAY),  # two whole weeks
    (datetime(2026, 2, 11, 12, tzinfo=UTC), datetime(2026, 2, 25, 12, tzinfo=UTC)),  # one
)


@dataclass(frozen=True)
class CallSpec:
    agent: int
    team: int
    days_ago: int


@dataclass(frozen=True)
class GrantSpec:
    scope: str
    value: int
    purpose: str
    revoked: bool


calls = st.builds(CallSpec, st.integers(0, 1), st.integers(0, 1), st.sampled_from((1, 10, 20)))
grant_specs = st.builds(
    GrantSpec,
    st.sampled_from(("all", "team", "agent", "date_range", "recordings")),
    st.integers(0, 1),
    st.sampled_from(("quality_assurance",) * 4 + ("training",)),
    st.sampled_from((False,) * 4 + (True,)),
)


def _week_start(day: datetime) -> datetime:
    return MONDAY + ((day - MONDAY) // timedelta(weeks=1)) * timedelta(weeks=1)


def _covers(g: GrantSpec, call: CallSpec, started: datetime, listed: Any) -> bool:
    if g.revoked or g.purpose != "quality_assurance":
        return False
    if g.scope == "all":
        return True
    if g.scope == "team":
        return call.team == g.value
    if g.scope == "agent":
        return call.agent == g.value
    if g.scope == "date_range":
        start, until = RANGES[g.value]
        return start <= started < until
    return listed


def _report_shows(g: GrantSpec, call: CallSpec, started: datetime) -> bool:
    if g.revoked or g.purpose != "quality_assurance" or g.scope == "recordings":
        return False
    if g.scope == "date_range":
        start, until = RANGES[g.value]
        week = _week_start(started)
        return week >= start and week + timedelta(weeks=1) <= until
    return _covers(g, call, started, False)


@pytest.fixture
def people(
    make_account: MakeAccount, make_grant: MakeGrant, client_for: ClientFor
) -> tuple[Account, Account, Any]:
    """A master evaluator who sees everything, and the user under test with a signed-in client."""
    master, user = make_account(Role.QA_MANAGER), make_account(Role.QA_MANAGER)
    make_grant(master)
    return master, user, client_for(user)


@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    call_list=st.lists(calls, min_size=2, max_size=4),
    grant_list=st.lists(grant_specs, min_size=1, max_size=3),
)
def test_nothing_outside_the_grants(
    people: tuple[Account, Account, Any],
    make_recording: MakeRecording,
    make_grant: MakeGrant,
    make_evaluation: MakeEvaluation,
    form_version: Any,
    session: Session,
    runtime: Runtime,
    clock: FixedClock,
    dpo: Account,
    call_list: list[CallSpec],
    grant_list: list[GrantSpec],
) -> None:
    master, user, client = people
    now = clock.now()
    savepoint = session.begin_nested()
    try:
        recordings = []
        theirs = []
        for n, c in enumerate(call_list):
            recording = make_recording(
                artifacts=False,
                agent_id=AGENTS[c.agent],
                team=TEAMS[c.team],
                started_at=now - timedelta(days=c.days_ago, minutes=n),
            )
            recordings.append(recording)
            theirs.append(make_evaluation(master, recording))
        for g in grant_list:
            scope = {
                "all": GrantScope(ScopeKind.ALL),
                "team": GrantScope(ScopeKind.TEAM, team=TEAMS[g.value]),
                "agent": GrantScope(ScopeKind.AGENT, agent_id=AGENTS[g.value]),
                "date_range": GrantScope(
                    ScopeKind.DATE_RANGE,
                    date_from=RANGES[g.value][0],
                    date_until=RANGES[g.value][1],
                ),
                "recordings": GrantScope(ScopeKind.RECORDINGS, recording_ids=(recordings[0].id,)),
            }[g.scope]
            variant = "pseudonymised" if g.purpose == "training" else "original"
            grant = make_grant(user, purpose=g.purpose, variant=variant, scope=scope)
            if g.revoked:
                revoke_grant(session, runtime, principal_of(dpo), grant.id, source="test")
        session.flush()

        principal = principal_of(user)
        for n, (c, r) in enumerate(zip(call_list, recordings, strict=True)):
            allowed = any(_covers(g, c, r.started_at, n == 0) for g in grant_list)
            try:
                service.create_evaluation(
                    session,
                    runtime,
                    principal,
                    recording_id=r.id,
                    form_id=form_version.form_id,
                    reason=REASON,
                    source="test",
                )
                assert allowed, f"evaluated an uncovered call {c}"
            except NotFound:
                assert not allowed, f"refused a covered call {c}"

        start, end = reports.period(None, None, now)
        report = reports.team_report(
            session,
            reports.windows_for(session, principal, now),
            team=None,
            start=start,
            end=end,
        )
        shown = [
            (c, r)
            for c, r in zip(call_list, recordings, strict=True)
            if any(_report_shows(g, c, r.started_at) for g in grant_list)
        ]
        assert report["total"]["evaluations"] == len(shown)
        assert {a["agent_id"] for a in report["by_agent"]} == {AGENTS[c.agent] for c, _ in shown}
        assert {t["team"] for t in report["by_team"]} <= {TEAMS[c.team] for c, _ in shown}
        team_wide = any(
            not g.revoked
            and g.purpose == "quality_assurance"
            and g.scope in ("all", "team", "date_range")
            for g in grant_list
        )
        if report["by_question"]:
            assert team_wide

        # the same through the routes
        http = client.get("/api/v1/qa/reports").json()
        assert http["total"] == report["total"] and http["by_agent"] == report["by_agent"]
        for evaluation in theirs:  # another evaluator's work is never shown
            assert client.get(f"/api/v1/qa/evaluations/{evaluation.id}").status_code == 404
        covered = {
            str(r.id)
            for n, (c, r) in enumerate(zip(call_list, recordings, strict=True))
            if any(_covers(g, c, r.started_at, n == 0) for g in grant_list)
        }
        listed = client.get("/api/v1/qa/evaluations").json()["items"]
        assert {i["recording_id"] for i in listed} == covered
        drawn = client.post(
            "/api/v1/qa/samples",
            json={
                "form_id": str(form_version.form_id),
                "from": (now - timedelta(days=30)).isoformat(),
                "until": now.isoformat(),
                "per_agent": 5,
            },
        )
        assert drawn.status_code == 201
        assert {i["recording_id"] for i in drawn.json()["items"]} == covered
    finally:
        savepoint.rollback()
