"""The quality-assurance flow in headless Chromium against a real server: write a form,
evaluate a call with an anchored comment that seeks, calibrate, the agent acknowledges one
evaluation and disputes another, read the report. Screenshots in Swedish and English go to
test-artifacts/screenshots/ (git-ignored). The tests build on each other, in file order."""

from __future__ import annotations

import secrets
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
import uvicorn
from pydantic import SecretStr

from callvault.access.grants import GrantScope, create_grant
from callvault.access.models import ScopeKind
from callvault.accounts import service as accounts
from callvault.accounts.auth import Principal
from callvault.app import create_app
from callvault.config import Settings
from callvault.db import load_models, transaction
from callvault.parts import part_modules
from callvault.policy.models import PolicyVersion
from callvault.runtime import Runtime, set_runtime
from tests.web.conftest import PASSWORD
from tests.web.seed import add_recording
from tests.web.test_browser import ARGS, CHROMIUM, SHOTS, _free_port

pytestmark = [pytest.mark.browser, pytest.mark.timeout(600)]
playwright_sync = pytest.importorskip("playwright.sync_api")
REASON = "Kvalitetsärende 2026-112, uppföljning av tonläge"


@dataclass
class World:
    base: str
    runtime: Runtime
    emails: dict[str, str]
    recordings: dict[str, uuid.UUID]
    pages: dict[str, Any] = field(default_factory=dict)
    state: dict[str, str] = field(default_factory=dict)


def _seed(runtime: Runtime) -> tuple[dict[str, str], dict[str, uuid.UUID]]:
    now = runtime.clock.now()
    emails: dict[str, str] = {}
    ids: dict[str, uuid.UUID] = {}
    with transaction(runtime.sessions) as session:
        for key, role in (
            ("dpo", "dpo"),
            ("qa", "qa_manager"),
            ("qa2", "qa_manager"),
            ("agent", "agent"),
        ):
            email = f"{key}@example.org"
            account = accounts.create_account(
                session, runtime, email=email, role=role, password=PASSWORD,
                actor="system", source="cli",
            )  # fmt: skip
            emails[key], ids[key] = email, account.id
        calls = {
            "one": add_recording(session, runtime, call_id="CA-qa-1", agent_id=emails["agent"],
                                 started_at=now - timedelta(days=2), seconds=30.0, seed=1),
            "two": add_recording(session, runtime, call_id="CA-qa-2", agent_id=emails["agent"],
                                 started_at=now - timedelta(days=1), seconds=6.0, seed=2),
        }  # fmt: skip
        dpo = Principal(kind="account", id=ids["dpo"], role="dpo", session_id=None)
        for key in ("qa", "qa2"):
            create_grant(
                session, runtime, dpo, grantee_id=ids[key], purpose="quality_assurance",
                variant="original", scope=GrantScope(ScopeKind.ALL),
                valid_from=now - timedelta(hours=1), valid_until=now + timedelta(days=7),
                source="cli",
            )  # fmt: skip
    return emails, calls


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    data = tmp_path_factory.mktemp("qa-browser")
    settings = Settings(
        env="test", data_dir=data, database_url=f"sqlite:///{data / 'callvault.db'}",
        secret_key=SecretStr(secrets.token_urlsafe(48)),
    )  # fmt: skip
    runtime = Runtime.from_settings(settings)
    set_runtime(runtime)
    load_models().create_all(runtime.engine)
    for module in part_modules("setup"):
        module.initialise(runtime)
    with transaction(runtime.sessions) as session:
        session.execute(
            sa.update(PolicyVersion).values(effective_from=sa.func.datetime("now", "-30 days"))
        )
    emails, calls = _seed(runtime)
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(runtime), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started
    try:
        yield World(f"http://127.0.0.1:{port}", runtime, emails, calls)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        set_runtime(None)
        runtime.engine.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed")
    with playwright_sync.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        chromium.close()


def page_of(world: World, browser: Any, who: str) -> Any:
    if who in world.pages:
        return world.pages[who]
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="sv-SE")
    context.set_default_timeout(15000)
    page = context.new_page()
    page.goto(f"{world.base}/login")
    page.get_by_label("E-postadress").fill(world.emails[who])
    page.get_by_label("Lösenord").fill(PASSWORD)
    page.get_by_role("button", name="Logga in").click()
    page.wait_for_load_state()
    assert "/login" not in page.url
    world.pages[who] = page
    return page


def shoot(page: Any, name: str) -> None:
    """A screenshot in Swedish, then the same page in English (and back)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"qa-{name}-sv.png"), full_page=True)
    page.get_by_role("button", name="English").click()
    page.wait_for_load_state()
    page.screenshot(path=str(SHOTS / f"qa-{name}-en.png"), full_page=True)
    page.get_by_role("button", name="Svenska").click()
    page.wait_for_load_state()


def answer_and_submit(page: Any, tone: str) -> None:
    questions = page.locator("fieldset[data-question]")
    questions.nth(0).get_by_label("Ja", exact=True).check()
    questions.nth(1).get_by_label(tone, exact=True).check()
    page.get_by_role("status").filter(has_text="Utkastet sparat").wait_for()
    page.get_by_role("button", name="Skicka in utvärderingen").click()
    page.locator("[data-score]").wait_for()


def test_a_qa_manager_writes_and_publishes_a_form(world: World, browser: Any) -> None:
    page = page_of(world, browser, "qa")
    page.goto(f"{world.base}/qa")
    page.get_by_role("link", name="Nytt formulär").click()
    page.locator("[data-title-sv]").fill("Kundsamtal")
    page.locator("[data-title-en]").fill("Customer call")
    section = page.locator("[data-s]").first
    section.locator("[data-k=title_sv]").first.fill("Bemötande")
    section.locator("[data-k=title_en]").first.fill("Manner")
    first = section.locator("[data-q]").nth(0)
    first.locator("[data-k=text_sv]").fill("Hälsade agenten?")
    first.locator("[data-k=text_en]").fill("Did the agent greet?")
    first.locator("[data-k=critical]").check()
    section.get_by_role("button", name="Lägg till en fråga").click()
    second = section.locator("[data-q]").nth(1)
    second.locator("[data-k=text_sv]").fill("Tonläge")
    second.locator("[data-k=text_en]").fill("Tone")
    second.locator("[data-k=kind]").select_option("scale")
    second.locator("[data-k=weight]").fill("2")
    second.locator("[data-k=allow_na]").check()
    page.get_by_role("button", name="Publicera").click()
    page.get_by_role("status").filter(has_text="Sparat som version 1 ✓").wait_for()
    world.state["form"] = page.url.rsplit("/", 1)[1]
    shoot(page, "form-editor")


def test_the_qa_manager_evaluates_a_call_with_an_anchored_comment_that_seeks(
    world: World, browser: Any
) -> None:
    page = page_of(world, browser, "qa")
    page.goto(
        f"{world.base}/qa/start?recording={world.recordings['one']}&form={world.state['form']}"
    )
    page.get_by_label("Skäl").fill(REASON)
    page.get_by_role("button", name="Öppna samtalet och utvärdera").click()
    page.locator("[data-audio]").wait_for()
    page.wait_for_function("() => document.querySelector('[data-audio]').readyState >= 1")
    page.evaluate("() => { document.querySelector('[data-audio]').currentTime = 12; }")
    page.wait_for_function("() => document.querySelector('[data-audio]').currentTime >= 12")
    page.get_by_label("Ny kommentar").fill("Lugnt och tydligt här.")
    page.get_by_role("button", name="Lägg till kommentar").click()
    page.get_by_role("status").filter(has_text="Utkastet sparat").wait_for()
    page.evaluate("() => { const a = document.querySelector('[data-audio]'); a.muted = true; "
                  "a.currentTime = 0; }")  # fmt: skip
    page.get_by_role("button", name="0:12").click()
    page.wait_for_function(
        "() => Math.abs(document.querySelector('[data-audio]').currentTime - 12) < 1.5"
    )
    world.state["evaluation"] = page.url.rsplit("/", 1)[1]
    answer_and_submit(page, "4")
    assert page.locator("[data-score]").inner_text() == "83.3"  # (1 + 2×0.75) / 3
    shoot(page, "evaluation")


def test_two_managers_calibrate_blind_and_agree_on_a_reference(world: World, browser: Any) -> None:
    page = page_of(world, browser, "qa")
    page.goto(f"{world.base}/qa/calibrations")
    page.get_by_label("Inspelningens id").fill(str(world.recordings["two"]))
    page.get_by_label("qa@example.org").check()
    page.get_by_label("qa2@example.org").check()
    page.get_by_label("Skäl").fill(REASON)
    page.get_by_role("button", name="Starta en kalibrering").click()
    calibration = page.url
    for who, tone in (("qa", "4"), ("qa2", "2")):
        person = page_of(world, browser, who)
        person.goto(calibration)
        person.get_by_label("Skäl").fill(REASON)
        person.get_by_role("button", name="Påbörja din utvärdering").click()
        answer_and_submit(person, tone)
    page.goto(calibration)
    assert page.get_by_role("heading", name="Spridning i resultaten").is_visible()
    assert page.locator("[data-range]").inner_text() == "33.3"
    page.get_by_role("button", name="Gör detta till referens").first.click()
    page.get_by_text("referens", exact=True).wait_for()
    shoot(page, "calibration")


def test_the_agent_acknowledges_one_evaluation_and_disputes_another(
    world: World, browser: Any
) -> None:
    qa = page_of(world, browser, "qa")
    qa.goto(f"{world.base}/qa/start?recording={world.recordings['two']}&form={world.state['form']}")
    qa.get_by_label("Skäl").fill(REASON)
    qa.get_by_role("button", name="Öppna samtalet och utvärdera").click()
    answer_and_submit(qa, "2")
    second = qa.url.rsplit("/", 1)[1]
    page = page_of(world, browser, "agent")
    page.goto(f"{world.base}/qa")
    assert page.locator("tbody tr").count() == 2
    page.goto(f"{world.base}/qa/evaluations/{world.state['evaluation']}")
    assert page.locator("audio").count() == 0, "agents never get the audio (§6)"
    page.get_by_role("button", name="Bekräfta").click()
    page.get_by_text("Bekräftad av medarbetaren.").wait_for()
    page.goto(f"{world.base}/qa/evaluations/{second}")
    page.get_by_label("Eller invänd och säg varför").fill("Kunden Kalle Andersson bad om det")
    page.get_by_role("button", name="Invänd", exact=True).click()
    page.get_by_text("a name").wait_for()  # refused, naming the kind and not the value
    page.get_by_label("Eller invänd och säg varför").fill("Jag lät kunden tala till punkt.")
    page.get_by_role("button", name="Invänd", exact=True).click()
    page.get_by_text("Medarbetaren invänder mot utvärderingen:").wait_for()
    shoot(page, "agent-feedback")
    qa.goto(f"{world.base}/qa/evaluations/{second}")
    qa.get_by_label("Ditt svar").fill("Bra poäng, vi tar upp det på coachningen.")
    qa.get_by_role("button", name="Skicka svar").click()
    qa.get_by_text("Bedömarens svar:").wait_for()


def test_the_report_shows_charts_with_tables(world: World, browser: Any) -> None:
    page = page_of(world, browser, "qa")
    page.goto(f"{world.base}/qa/reports")
    assert page.locator("canvas[data-chart]").count() == 4
    assert page.locator("[data-total]").inner_text() == "2"  # calibration scores excluded
    assert page.locator("tbody tr", has_text="agent@example.org").count() == 1
    shoot(page, "report")
