"""The organisation's identity fills the policy template everywhere; the example is refused."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from callvault.audit.models import AuditEntry
from callvault.config import Settings
from callvault.errors import ConfigurationError, InvalidInput
from callvault.policy.identity import (
    EXAMPLE,
    Identity,
    check_identity_ready,
    identity_in_force,
    played_prompt,
    record_identity,
)
from callvault.policy.models import PolicyVersion
from callvault.policy.setup import sync_identity
from callvault.runtime import Runtime
from callvault.web.i18n import LANGUAGE_COOKIE

CALLVAULT = [sys.executable, "-c", "from callvault.cli import main; main()"]
EXEMPEL = Identity("Exempel AB", "Exempel", "www.exempel.se", "dpo@exempel.se")
INIT_OPTIONS = [
    "--organisation-name",
    "Exempel AB",
    "--organisation-short-name",
    "Exempel",
    "--organisation-website",
    "www.exempel.se",
    "--dpo-contact",
    "dpo@exempel.se",
]


@pytest.fixture(scope="module")
def initialised(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A fresh data directory after `callvault init` with the organisation's options."""
    data_dir = tmp_path_factory.mktemp("init") / "var"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALLVAULT_")} | {
        "CALLVAULT_DATA_DIR": str(data_dir),
        "CALLVAULT_ENV": "development",
    }
    done = subprocess.run(  # noqa: S603 - our own command, fixed arguments
        [*CALLVAULT, "init", *INIT_OPTIONS],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, done.stderr
    assert "organisation identity recorded" in done.stdout
    assert "Arlo" not in done.stdout  # with the options, never the example's identity first
    yield data_dir


@pytest.mark.parametrize("language", ["sv", "en"])
@pytest.mark.parametrize("path", ["/policy", "/privacy/callers", "/privacy/employees"])
def test_after_init_with_options_no_page_mentions_arlo(
    initialised: Path, path: str, language: str
) -> None:
    from callvault.app import create_app

    runtime = Runtime.from_settings(Settings(data_dir=initialised, env="development"))
    with TestClient(create_app(runtime)) as client:
        client.cookies.set(LANGUAGE_COOKIE, language)
        page = client.get(path, headers={"accept": "text/html"})
    assert page.status_code == 200
    assert "Arlo" not in page.text
    assert "arlo.com" not in page.text
    assert "Exempel" in page.text
    if path == "/policy" and language == "sv":
        assert "Exempel AB:s" in page.text  # §1, the legal name's genitive
        assert "Exempels dataskyddsombud" in page.text  # §2, the short name's
    if path.startswith("/privacy"):
        assert "dpo@exempel.se" in page.text
        assert "www.exempel.se" in page.text


def test_identity_is_recorded_once_and_audited(session: Session, runtime: Runtime) -> None:
    assert record_identity(session, runtime, EXEMPEL, actor="system", source="cli")
    assert not record_identity(session, runtime, EXEMPEL, actor="system", source="cli")
    assert identity_in_force(session, runtime.settings) == EXEMPEL
    actions = [e.action for e in session.query(AuditEntry).all()]
    assert actions.count("organisation.identity_set") == 1


def test_settings_fill_only_the_fields_they_set(session: Session, runtime: Runtime) -> None:
    record_identity(session, runtime, EXEMPEL, actor="system", source="cli")
    runtime.settings.dpo_contact = "integritet@exempel.se"
    sync_identity(session, runtime, {})
    assert identity_in_force(session, runtime.settings) == Identity(
        "Exempel AB", "Exempel", "www.exempel.se", "integritet@exempel.se"
    )


@pytest.mark.parametrize(
    ("field", "value"), [("legal_name", ""), ("website", "x" * 201), ("short_name", "{website}")]
)
def test_bad_identity_is_refused(
    session: Session, runtime: Runtime, field: str, value: str
) -> None:
    bad = Identity(**{**EXEMPEL.__dict__, field: value})
    with pytest.raises(InvalidInput):
        record_identity(session, runtime, bad, actor="system", source="cli")
    assert identity_in_force(session, runtime.settings) == EXAMPLE


def test_production_refuses_the_example_identity_naming_the_settings(
    session: Session, runtime: Runtime
) -> None:
    production = runtime.settings.model_copy(update={"env": "production"})
    with pytest.raises(ConfigurationError) as refused:
        check_identity_ready(session, production)
    for name in (
        "CALLVAULT_ORGANISATION_NAME",
        "CALLVAULT_ORGANISATION_SHORT_NAME",
        "CALLVAULT_ORGANISATION_WEBSITE",
        "CALLVAULT_DPO_CONTACT",
    ):
        assert name in refused.value.message
    record_identity(session, runtime, EXEMPEL, actor="system", source="cli")
    check_identity_ready(session, production)  # a real identity starts


def test_serve_refuses_to_start_in_production_with_the_example(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALLVAULT_")} | {
        "CALLVAULT_DATA_DIR": str(tmp_path / "var"),
        "CALLVAULT_ENV": "production",
        "CALLVAULT_SECRET_KEY": "a-real-secret-" + "k" * 40,
    }
    done = subprocess.run(  # noqa: S603 - our own command, fixed arguments
        [*CALLVAULT, "serve", "--port", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode != 0
    assert "CALLVAULT_ORGANISATION_NAME" in done.stderr
    assert "CALLVAULT_DPO_CONTACT" in done.stderr
    assert "serving on" not in done.stdout


def test_played_prompt_is_rebuilt_with_the_identity_of_its_time(
    session: Session, runtime: Runtime, first_version: PolicyVersion
) -> None:
    record_identity(session, runtime, EXEMPEL, actor="system", source="cli")
    then = runtime.clock.now()
    heard = played_prompt(session, runtime.settings, first_version, "sv", then)
    assert heard.startswith("Välkommen till Exempels kundtjänst.")
    assert "på www.exempel.se." in heard
    runtime.clock.advance(days=30)  # type: ignore[attr-defined]
    record_identity(
        session,
        runtime,
        Identity("Nordbank AB", "Nordbank", "nordbank.se", "dpo@nordbank.se"),
        actor="system",
        source="cli",
    )
    now = runtime.clock.now()
    assert played_prompt(session, runtime.settings, first_version, "sv", then) == heard
    assert played_prompt(session, runtime.settings, first_version, "sv", now).startswith(
        "Välkommen till Nordbanks kundtjänst."
    )


def test_init_asks_for_the_identity_on_a_terminal_only(
    session: Session, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    from callvault.policy import commands

    assert commands.ask_identity(runtime, {}) == []  # not a terminal: nothing asked
    monkeypatch.setattr(commands, "on_terminal", lambda: True)
    answers = iter(["Nordbank AB", "Nordbank", "www.nordbank.se", "dpo@nordbank.se"])
    monkeypatch.setattr(commands.typer, "prompt", lambda *a, **k: next(answers))
    lines = commands.ask_identity(runtime, {})
    assert lines[0] == "organisation identity recorded"
    assert identity_in_force(session, runtime.settings) == Identity(
        "Nordbank AB", "Nordbank", "www.nordbank.se", "dpo@nordbank.se"
    )
    assert commands.ask_identity(runtime, {}) == []  # no longer the example: not asked again


def test_redaction_knows_the_organisation_by_its_identity(runtime: Runtime) -> None:
    from callvault.redaction.files import options_from

    assert options_from(runtime.settings).organisation == (
        "Verisure Arlo Europe DAC",
        "Arlo Europe",
    )
    named = options_from(runtime.settings, organisation=("Exempel AB", "Exempel"))
    assert named.organisation == ("Exempel AB", "Exempel")


def test_a_derived_short_name_never_replaces_a_recorded_one(
    session: Session, runtime: Runtime
) -> None:
    record_identity(session, runtime, EXEMPEL, actor="system", source="cli")
    runtime.settings.organisation_name = "Exempel Holding AB"
    sync_identity(session, runtime, {})
    identity = identity_in_force(session, runtime.settings)
    assert (identity.legal_name, identity.short_name) == ("Exempel Holding AB", "Exempel")


def test_a_legal_name_in_the_settings_also_replaces_the_example_short_name(
    session: Session, runtime: Runtime
) -> None:
    sync_identity(session, runtime, {})  # the first init: the example is recorded
    runtime.settings.organisation_name = "Nordbank AB"
    sync_identity(session, runtime, {})
    assert identity_in_force(session, runtime.settings).short_name == "Nordbank AB"
