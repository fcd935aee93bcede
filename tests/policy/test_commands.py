"""`callvault policy …` shows what the API publishes."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from callvault.policy.commands import policy
from callvault.policy.models import PolicyVersion


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["versions"], "quality_assurance 90 d, training 90 d"),
        (["show"], "1. Syftet med denna samtalsinspelningspolicy"),
        (["show", "1", "--language", "en"], "1. Purpose of this call-recording policy"),
        (["show", "--prompt"], "Välkommen till Arlo Europes kundtjänst."),
    ],
)
def test_policy_commands(first_version: PolicyVersion, args: list[str], expected: str) -> None:
    result = CliRunner().invoke(policy, args)
    assert result.exit_code == 0, result.output
    assert expected in result.output


def test_art13_command_prints_json(first_version: PolicyVersion) -> None:
    result = CliRunner().invoke(policy, ["art13", "--audience", "employee", "-l", "en"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["audience"] == "employee"
