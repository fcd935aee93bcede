"""Reports: figures per week, team, agent, form and question from the weekly tables, as far as
the grants reach; CSV; the CLI."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from callvault.access.grants import GrantScope
from callvault.access.models import ScopeKind
from callvault.accounts.models import Account
from callvault.accounts.roles import Role
from callvault.clock import FixedClock
from tests.access.conftest import MakeAccount, MakeGrant, MakeRecording
from tests.quality.conftest import ClientFor, MakeEvaluation


@pytest.fixture
def scored(
    qa: Account,
    make_grant: MakeGrant,
    make_recording: MakeRecording,
    make_evaluation: MakeEvaluation,
    clock: FixedClock,
    make_account: MakeAccount,
) -> dict[str, Any]:
    """Team north: a-1 twice (80; 0 failed), the agent account once (60); team south: a-3 (90)."""
    agent = make_account(Role.AGENT)
    make_grant(qa)
    now = clock.now()
    r1 = make_recording(artifacts=False, agent_id="a-1", team="north")
    r2 = make_recording(
        artifacts=False, agent_id="a-1", team="north", started_at=now - timedelta(days=8)
    )
    r3 = make_recording(artifacts=False, agent_id=agent.email, team="north")
    r4 = make_recording(artifacts=False, agent_id="a-3", team="south")
    make_evaluation(qa, r1)  # 80
    make_evaluation(qa, r2, critical="no")  # 0, failed
    make_evaluation(qa, r3, tone=2)  # (1 + 2×0.25 + 1 + 0.5) / 5 = 60
    make_evaluation(qa, r4, tone=5)  # (1 + 2 + 1 + 0.5) / 5 = 90
    return {"agent": agent}


def test_a_manager_with_an_all_grant_sees_every_figure(
    scored: dict[str, Any], qa: Account, client_for: ClientFor
) -> None:
    report = client_for(qa).get("/api/v1/qa/reports", params={"team": "north"}).json()
    assert len(report["weeks"]) == 12
    assert report["total"] == {"evaluations": 3, "average": 46.7, "fail_rate": 33.3}
    agents = {a["agent_id"]: a for a in report["by_agent"]}
    assert set(agents) == {"a-1", scored["agent"].email}
    assert agents["a-1"]["evaluations"] == 2 and agents["a-1"]["average"] == 40.0
    assert [f["title"] for f in report["by_form"]] == ["Kundsamtal"]
    tone = next(q for q in report["by_question"] if q["text"] == "Tonläge")
    assert (tone["answered"], tone["average"]) == (3, 58.3)  # (0.75 + 0.75 + 0.25) / 3
    weeks = [w for w in report["by_week"] if w["evaluations"]]
    assert [w["evaluations"] for w in weeks] == [1, 2]


def test_a_team_grant_shows_that_team_only(
    scored: dict[str, Any],
    make_account: MakeAccount,
    make_grant: MakeGrant,
    client_for: ClientFor,
) -> None:
    manager = make_account(Role.QA_MANAGER)
    make_grant(manager, scope=GrantScope(ScopeKind.TEAM, team="south"))
    report = client_for(manager).get("/api/v1/qa/reports").json()
    assert [t["team"] for t in report["by_team"]] == ["south"]
    assert [a["agent_id"] for a in report["by_agent"]] == ["a-3"]
    assert report["total"]["evaluations"] == 1
    north = client_for(manager).get("/api/v1/qa/reports", params={"team": "north"}).json()
    assert north["total"]["evaluations"] == 0 and north["by_agent"] == []


def test_an_agent_grant_shows_that_agent_and_no_team_figures(
    scored: dict[str, Any],
    make_account: MakeAccount,
    make_grant: MakeGrant,
    client_for: ClientFor,
) -> None:
    manager = make_account(Role.QA_MANAGER)
    make_grant(manager, scope=GrantScope(ScopeKind.AGENT, agent_id="a-1"))
    report = client_for(manager).get("/api/v1/qa/reports").json()
    assert [a["agent_id"] for a in report["by_agent"]] == ["a-1"]
    assert report["total"]["evaluations"] == 2
    assert report["by_question"] == []  # team-wide figures would reach past the grant


def test_a_recordings_grant_gives_no_report(
    scored: dict[str, Any],
    make_account: MakeAccount,
    make_grant: MakeGrant,
    make_recording: MakeRecording,
    client_for: ClientFor,
) -> None:
    manager = make_account(Role.QA_MANAGER)
    listed = make_recording(artifacts=False, agent_id="a-1", team="north")
    make_grant(manager, scope=GrantScope(ScopeKind.RECORDINGS, recording_ids=(listed.id,)))
    report = client_for(manager).get("/api/v1/qa/reports").json()
    assert report["total"]["evaluations"] == 0 and report["by_agent"] == []


def test_an_agent_sees_only_their_own_figures(
    scored: dict[str, Any], client_for: ClientFor
) -> None:
    report = client_for(scored["agent"]).get("/api/v1/qa/reports").json()
    assert [a["agent_id"] for a in report["by_agent"]] == [scored["agent"].email]
    assert report["total"] == {"evaluations": 1, "average": 60.0, "fail_rate": 0.0}
    assert report["by_question"] == []


def test_csv_export(scored: dict[str, Any], qa: Account, client_for: ClientFor) -> None:
    response = client_for(qa).get("/api/v1/qa/reports", params={"format": "csv"})
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    levels = {r["level"] for r in rows}
    assert levels == {"week", "team", "agent", "form", "question"}
    a1 = [
        r for r in rows if r["level"] == "agent" and r["key"] == "a-1" and r["evaluations"] != "0"
    ]
    assert sorted(r["average"] for r in a1) == ["0.0", "80.0"]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"from": "2026-03-01", "to": "2026-02-01"}, "ends before"),
        ({"from": "2020-01-01", "to": "2026-03-01"}, "at most 104 weeks"),
    ],
)
def test_bad_periods(
    params: dict[str, str], message: str, qa: Account, client_for: ClientFor
) -> None:
    response = client_for(qa).get("/api/v1/qa/reports", params=params)
    assert response.status_code == 422 and message in response.json()["message"]


def test_the_cli_prints_the_same_report(scored: dict[str, Any], session: Session) -> None:
    from callvault.cli import app

    as_json = CliRunner().invoke(app, ["qa", "report", "--team", "north"])
    assert as_json.exit_code == 0, as_json.output
    assert json.loads(as_json.output)["total"]["evaluations"] == 3
    as_csv = CliRunner().invoke(app, ["qa", "report", "--team", "south", "--csv"])
    assert as_csv.exit_code == 0 and as_csv.output.startswith("level,key,label,week")
    assert "a-3" in as_csv.output and "a-1" not in as_csv.output


@pytest.mark.parametrize(
    "params",
    [
        {"to": "9999-12-31"},
        {"to": "0001-01-01"},
        {"from": "0001-01-01", "to": "0001-01-07"},
        {"from": "9999-12-31"},
        {"to": "1700000000"},
    ],
)
def test_report_periods_beyond_the_calendar_are_a_clear_refusal(
    qa: Account, client_for: ClientFor, params: dict[str, str]
) -> None:
    # A week around 9999-12-31 or 0001-01-01 overflows `date` (a 500, for agents too).
    assert client_for(qa).get("/api/v1/qa/reports", params=params).status_code == 422
