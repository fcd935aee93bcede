"""The training library's flow in headless Chromium against a real server: cut a clip, review
it with a mark, approve it after playing it through, find it, present a collection, report a
leak and see the clip withdrawn. Screenshots of each page in Swedish and English at desktop and
mobile sizes go to test-artifacts/screenshots/training-*.png (git-ignored)."""

from __future__ import annotations

import re
import secrets
import threading
import time
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
from callvault.accounts import totp
from callvault.accounts.auth import Principal
from callvault.app import create_app
from callvault.config import Settings
from callvault.db import load_models, transaction
from callvault.parts import part_modules
from callvault.policy.models import PolicyVersion
from callvault.runtime import Runtime, set_runtime
from tests.web.conftest import PASSWORD
from tests.web.seed import add_recording
from tests.web.test_browser import (
    ARGS,
    CHROMIUM,
    SHOTS,
    VIEWPORTS,
    _free_port,
    _switch_language,
    no_horizontal_overflow,
)

pytestmark = [pytest.mark.browser, pytest.mark.timeout(600)]
playwright_sync = pytest.importorskip("playwright.sync_api")


@dataclass
class World:
    base: str
    runtime: Runtime
    emails: dict[str, str]
    recording: str
    pages: dict[str, Any] = field(default_factory=dict)
    state: dict[str, str] = field(default_factory=dict)


def _seed(runtime: Runtime) -> tuple[dict[str, str], str]:
    emails: dict[str, str] = {}
    with transaction(runtime.sessions) as session:
        dpo = accounts.create_account(
            session,
            runtime,
            email="dpo@example.org",
            role="dpo",
            password=PASSWORD,
            actor="system",
            source="cli",
        )
        enrolment = accounts.begin_totp_enrolment(session, runtime, dpo.id)
        accounts.confirm_totp_enrolment(
            session,
            runtime,
            account_id=dpo.id,
            session_id=None,
            code=totp.code_at(enrolment.secret, runtime.clock.now() - timedelta(seconds=30)),
            source="cli",
        )
        boss = Principal(kind="account", id=dpo.id, role="dpo", session_id=None)
        for name in ("author", "reviewer"):
            email = f"{name}@example.org"
            account = accounts.create_account(
                session,
                runtime,
                email=email,
                role="training_manager",
                password=PASSWORD,
                actor="system",
                source="cli",
            )
            now = runtime.clock.now()
            create_grant(
                session,
                runtime,
                boss,
                grantee_id=account.id,
                purpose="training",
                variant="pseudonymised",
                scope=GrantScope(ScopeKind.ALL),
                valid_from=now,
                valid_until=now + timedelta(days=30),
                source="test",
            )
            emails[name] = email
        rid = add_recording(
            session,
            runtime,
            call_id="CA-training-1",
            started_at=runtime.clock.now() - timedelta(days=2),
            seconds=12.0,
            seed=4,
        )
    return emails, str(rid)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    from callvault.worker.queue import huey

    data = tmp_path_factory.mktemp("training-browser")
    settings = Settings(
        env="test",
        data_dir=data,
        database_url=f"sqlite:///{data / 'callvault.db'}",
        secret_key=SecretStr(secrets.token_urlsafe(48)),
    )
    runtime = Runtime.from_settings(settings)
    set_runtime(runtime)
    load_models().create_all(runtime.engine)
    for module in part_modules("setup"):
        module.initialise(runtime)
    with transaction(runtime.sessions) as session:
        session.execute(
            sa.update(PolicyVersion).values(effective_from=sa.func.datetime("now", "-30 days"))
        )
        from callvault.training.models import TrainingTag

        if session.get(TrainingTag, "uppsägning") is None:  # create_all seeds no vocabulary
            session.add(
                TrainingTag(
                    code="uppsägning",
                    label_sv="Uppsägning",
                    label_en="Cancellation",
                    created_by="system",
                    created_at=runtime.clock.now(),
                )
            )
    emails, recording = _seed(runtime)
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(runtime), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    was_immediate = huey.immediate
    huey.immediate = True
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started
    try:
        yield World(f"http://127.0.0.1:{port}", runtime, emails, recording)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        huey.immediate = was_immediate
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


def shoot(page: Any, name: str) -> list[str]:
    """Screenshots in both languages at both sizes; returns pages that overflow sideways."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    overflowing = []
    for language in ("sv", "en"):
        _switch_language(page, language)
        for size, (width, height) in VIEWPORTS.items():
            page.set_viewport_size({"width": width, "height": height})
            if not no_horizontal_overflow(page):
                overflowing.append(f"{name}-{language}-{size}")
            page.screenshot(
                path=str(SHOTS / f"training-{name}-{language}-{size}.png"), full_page=True
            )
        page.set_viewport_size({"width": 1280, "height": 800})
    _switch_language(page, "sv")
    return overflowing


def play_through(page: Any) -> None:
    page.evaluate(
        "() => { const a = document.querySelector('audio'); a.playbackRate = 4;"
        " a.muted = true; return a.play(); }"
    )
    page.wait_for_function("() => document.querySelector('audio').ended", timeout=30000)


def test_1_cut_a_clip_from_the_recording_page(world: World, browser: Any) -> None:
    page = page_of(world, browser, "author")
    page.goto(f"{world.base}/recordings/{world.recording}")
    page.get_by_role("link", name="Klipp ett utbildningsklipp ur den här inspelningen").click()
    page.wait_for_load_state()
    assert shoot(page, "cut") == []  # before filling in: switching language reloads the form
    page.get_by_label("Start").fill("0")
    page.get_by_label("Slut").fill("6")
    page.get_by_label("Titel").fill("Kunden presenterar sig")
    page.get_by_label("Uppsägning").check()
    page.get_by_label("Lärdom").fill("Bekräfta kundens ärende innan du frågar efter uppgifter.")
    page.get_by_role("button", name="Klipp", exact=True).click()
    page.wait_for_url(re.compile(r"/training/clips/[0-9a-f-]{36}$"))
    world.state["clip"] = page.url.rsplit("/", 1)[1]
    assert page.locator("#clip-state").inner_text() == "Väntar på granskning"


def test_2_review_it_with_a_mark_and_3_approve_after_playing_it_through(
    world: World, browser: Any
) -> None:
    page = page_of(world, browser, "reviewer")
    page.goto(f"{world.base}/training/clips/{world.state['clip']}")
    page.get_by_label("Skäl").fill("Granskning inför introduktionsutbildning")
    page.get_by_role("button", name="Fortsätt").click()
    page.wait_for_selector("audio")
    approve = page.get_by_role("button", name="Godkänn")
    assert approve.is_disabled(), "approval waits until the clip has been played through"
    page.get_by_label("Från (sekunder in i klippet)").fill("2.3")
    page.get_by_label("Till (sekunder in i klippet)").fill("2.55")
    page.get_by_role("button", name="Maskera det här avsnittet").click()
    page.wait_for_load_state()
    assert page.get_by_role("status").filter(has_text="Markeringen är gjord").is_visible()
    assert shoot(page, "review") == []
    play_through(page)
    assert page.get_by_role("button", name="Godkänn").is_enabled()
    page.get_by_role("button", name="Godkänn").click()
    page.wait_for_load_state()
    assert page.locator("#clip-state").inner_text() == "Godkänt"


def test_4_find_it_in_the_library(world: World, browser: Any) -> None:
    page = page_of(world, browser, "reviewer")
    page.goto(f"{world.base}/training")
    page.get_by_label("Ord i transkriptionen").fill("välkommen")
    page.get_by_role("button", name="Sök").click()
    page.wait_for_url(re.compile(r"q=v%C3%A4lkommen|q=välkommen"))
    assert page.get_by_role("link", name="Kunden presenterar sig").is_visible()
    assert shoot(page, "library") == []


def test_5_present_a_collection(world: World, browser: Any) -> None:
    page = page_of(world, browser, "reviewer")
    page.goto(f"{world.base}/training/collections")
    assert shoot(page, "collections") == []
    page.get_by_label("Titel").fill("Introduktion för nya medarbetare, vecka 1")
    page.get_by_label("Beskrivning").fill("Första veckans samtal.")
    page.get_by_label(re.compile("Kunden presenterar sig")).check()
    page.get_by_role("button", name="Skapa samlingen").click()
    page.wait_for_url(re.compile(r"/training/collections/[0-9a-f-]{36}$"))
    assert shoot(page, "collection") == []
    page.get_by_role("link", name="Visa samlingen").click()
    # the reviewer's reason for the clip does not cover the presentation: it states its own
    page.get_by_label("Skäl").fill("Introduktion för nya medarbetare vecka ett")
    page.get_by_role("button", name="Fortsätt").click()
    page.wait_for_selector("audio[data-present-audio]")
    assert page.locator("#reason-in-use").get_by_role("link", name="Ändra skälet").is_visible()
    assert "[NAMN]" in page.locator(".transcript").inner_text()
    page.keyboard.press("Space")
    page.wait_for_function("() => !document.querySelector('audio').paused")
    assert shoot(page, "present") == []


def test_6_report_a_leak_and_see_the_clip_withdrawn(world: World, browser: Any) -> None:
    page = page_of(world, browser, "author")
    page.goto(f"{world.base}/training/clips/{world.state['clip']}")
    if page.locator("#f-reason").count():
        page.get_by_label("Skäl").fill("Visning för nya medarbetare vecka ett")
        page.get_by_role("button", name="Fortsätt").click()
        page.wait_for_selector("audio")
    page.get_by_label("Ställe (sekunder in i klippet)").fill("4")
    page.get_by_role("button", name="Anmäl en identifierande uppgift här").click()
    page.wait_for_load_state()
    assert page.locator("#clip-state").inner_text() == "Väntar på granskning"
    page.goto(f"{world.base}/training")
    assert page.get_by_role("link", name="Kunden presenterar sig").count() == 0
    dpo_overview = page_of(world, browser, "reviewer")
    dpo_overview.goto(f"{world.base}/training/collections")
    dpo_overview.get_by_role("link", name=re.compile("Introduktion")).click()
    assert dpo_overview.get_by_text("Tillbaka i granskning").is_visible()
