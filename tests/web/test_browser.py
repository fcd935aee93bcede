"""The issue's flows in headless Chromium against a real server and real commits.

One uvicorn server (in a thread) over a temporary SQLite data directory and one browser serve
the whole module; each person has their own browser context (cookies). The tests run in file
order because the flows build on each other: grants first, the withdrawal last. Screenshots of
every main page, in Swedish and English at 1280×800 and 390×844, go to
test-artifacts/screenshots/ (git-ignored).
"""

from __future__ import annotations

import re
import secrets
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import uvicorn
from pydantic import SecretStr

from callvault.accounts import service as accounts
from callvault.accounts import totp
from callvault.app import create_app
from callvault.config import Settings
from callvault.db import load_models, transaction
from callvault.parts import part_modules
from callvault.policy.models import PolicyVersion
from callvault.runtime import Runtime, set_runtime
from tests.web.conftest import PASSWORD
from tests.web.seed import add_recording

pytestmark = [pytest.mark.browser, pytest.mark.timeout(600)]

playwright_sync = pytest.importorskip("playwright.sync_api")
CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
VIEWPORTS = {"desktop": (1280, 800), "mobile": (390, 844)}
CALLER_A, CALLER_B = "+46701234567", "+46709876543"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--autoplay-policy=no-user-gesture-required",
]


@dataclass
class World:
    base: str
    runtime: Runtime
    emails: dict[str, str]
    secrets: dict[str, str]
    recordings: dict[str, uuid.UUID]
    pages: dict[str, Any] = field(default_factory=dict)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _seed(runtime: Runtime) -> tuple[dict[str, str], dict[str, str], dict[str, uuid.UUID]]:
    emails: dict[str, str] = {}
    keys: dict[str, str] = {}
    now = runtime.clock.now()
    with transaction(runtime.sessions) as session:
        for role in ("dpo", "it_admin", "training_manager", "qa_manager", "agent"):
            email = f"{role.replace('_', '.')}@example.org"
            account = accounts.create_account(
                session, runtime, email=email, role=role, password=PASSWORD,
                actor="system", source="cli",
            )  # fmt: skip
            emails[role] = email
            if role in ("dpo", "it_admin"):
                enrolment = accounts.begin_totp_enrolment(session, runtime, account.id)
                # Confirm with the previous step's code so the login's code is fresh.
                accounts.confirm_totp_enrolment(
                    session, runtime, account_id=account.id, session_id=None,
                    code=totp.code_at(
                        enrolment.secret, runtime.clock.now() - timedelta(seconds=30)
                    ),
                    source="cli",
                )  # fmt: skip
                keys[role] = enrolment.secret
        calls = {
            "a1": add_recording(session, runtime, call_id="CA-browser-a1", caller=CALLER_A,
                                started_at=now - timedelta(days=3), seconds=30.0, seed=1),
            "a2": add_recording(session, runtime, call_id="CA-browser-a2", caller=CALLER_A,
                                started_at=now - timedelta(days=2), seconds=6.0, seed=2),
            "b1": add_recording(session, runtime, call_id="CA-browser-b1", caller=CALLER_B,
                                started_at=now - timedelta(days=1), seconds=6.0, seed=3,
                                team="support-2", agent_id="agent-008"),
        }  # fmt: skip
    return emails, keys, calls


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    from callvault.worker.queue import huey

    data = tmp_path_factory.mktemp("browser-data")
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
        module.initialise(runtime)  # what `callvault init` does after its migration
    with transaction(runtime.sessions) as session:
        # The policy has been in force for a month, so the seeded calls fall under it.
        session.execute(
            sa.update(PolicyVersion).values(effective_from=sa.func.datetime("now", "-30 days"))
        )
    emails, keys, calls = _seed(runtime)
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(runtime), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    was_immediate = huey.immediate
    huey.immediate = True  # the withdrawal's blob job runs at once, in the server's thread
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "the server did not start"
    try:
        yield World(f"http://127.0.0.1:{port}", runtime, emails, keys, calls)
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


def page_of(world: World, browser: Any, role: str) -> Any:
    """Each person's logged-in page, created once (a TOTP code can be used only once)."""
    if role in world.pages:
        return world.pages[role]
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="sv-SE")
    context.set_default_timeout(10000)
    page = context.new_page()
    page.goto(f"{world.base}/login")
    page.get_by_label("E-postadress").fill(world.emails[role])
    page.get_by_label("Lösenord").fill(PASSWORD)
    if role in world.secrets:
        page.get_by_label("Kod från din autentiseringsapp").fill(
            totp.code_at(world.secrets[role], world.runtime.clock.now())
        )
    page.get_by_role("button", name="Logga in").click()
    page.wait_for_load_state()
    assert "/login" not in page.url, f"{role} could not log in"
    world.pages[role] = page
    return page


def no_horizontal_overflow(page: Any) -> bool:
    return bool(page.evaluate("() => document.scrollingElement.scrollWidth <= window.innerWidth"))


WIDEST = """() => Array.from(document.querySelectorAll('body *'))
  .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1
               && !(e.parentElement && e.parentElement.closest('.table-wrap')))
  .slice(-3).map(e => e.tagName + '#' + e.id + '.' + e.className + ':'
                 + Math.round(e.getBoundingClientRect().right))"""


# --- flow 1 -------------------------------------------------------------------------------------


def test_the_dpo_logs_in_with_totp_and_grants_a_qa_manager_original_access_for_a_week(
    world: World, browser: Any
) -> None:
    page = page_of(world, browser, "dpo")
    assert page.url.endswith("/dpo")
    page.get_by_role("navigation").get_by_role("link", name="Behörigheter").click()
    page.get_by_label("Vem som får åtkomst").select_option(
        label="qa.manager@example.org (Kvalitetsansvarig chef)"
    )
    page.locator("#f-purpose").select_option("quality_assurance")
    page.get_by_label("Variant").select_option("original")
    page.get_by_role("radio", name="Alla inspelningar").check()
    first = page.get_by_label("Första dag").input_value()
    last = page.get_by_label("Sista dag").input_value()
    assert (_day(last) - _day(first)).days == 6, "a week by default: today and six more days"
    # Only the chosen scope's inputs show.
    assert not page.locator("#f-scope_from").is_visible()
    assert not page.locator("#f-scope_team").is_visible()
    page.get_by_role("button", name="Skapa behörighet").click()
    assert page.get_by_role("status").filter(has_text="Behörigheten har skapats.").is_visible()
    row = page.locator("tbody tr", has_text="qa.manager@example.org")
    assert row.get_by_text("Original").is_visible() and row.get_by_text("Aktiv").is_visible()
    # The training manager gets pseudonymised training access to team support-1 only.
    page.get_by_label("Vem som får åtkomst").select_option(
        label="training.manager@example.org (Utbildningsansvarig chef)"
    )
    page.locator("#f-purpose").select_option("training")
    # Training allows only pseudonymised recordings: the original is no longer offered.
    assert page.locator("#f-variant option[value=original]").is_disabled()
    assert page.get_by_label("Variant").input_value() == "pseudonymised"
    page.get_by_role("radio", name="Ett teams samtal").check()
    assert page.locator("#f-scope_team").is_visible()
    assert not page.locator("#f-scope_agent").is_visible()
    page.get_by_label("Team (för ett teams samtal)").select_option("support-1")
    page.get_by_role("button", name="Skapa behörighet").click()
    assert page.get_by_role("status").filter(has_text="Behörigheten har skapats.").is_visible()


def _day(value: str) -> Any:
    from datetime import date

    return date.fromisoformat(value)


# --- flow 2 -------------------------------------------------------------------------------------


def test_the_qa_manager_gives_a_reason_plays_and_seeks(world: World, browser: Any) -> None:
    page = page_of(world, browser, "qa_manager")
    page.goto(f"{world.base}/recordings")
    links = page.locator("tbody tr a")
    assert links.count() == 3
    page.get_by_label("Medarbetar-id").fill("agent-008")
    page.get_by_role("button", name="Filtrera").click()  # htmx swaps the results in place
    page.wait_for_url(re.compile(r"agent=agent-008"))
    page.wait_for_function("() => document.querySelectorAll('tbody tr').length === 1")
    assert _hrefs(page, "tbody tr a") == [f"{world.base}/recordings/{world.recordings['b1']}"]
    ranges: list[tuple[int, str]] = []
    page.on(
        "response",
        lambda r: (
            ranges.append((r.status, r.request.headers.get("range", "")))
            if "/audio?" in r.url
            else None
        ),
    )
    page.goto(f"{world.base}/recordings/{world.recordings['a1']}")
    assert page.locator("audio").count() == 0, "no player before a reason is given"
    page.get_by_label("Variant").select_option("original")
    page.get_by_label("Skäl").fill("Kvalitetsärende 2026-041, uppföljning")
    page.get_by_role("button", name="Gå vidare till inspelningen").click()
    audio = page.locator("audio")
    audio.wait_for()
    assert "jag heter Kalle Exempel" in page.locator(".transcript").inner_text()
    page.wait_for_selector("[data-player][data-waveform=ready]", timeout=15000)
    page.evaluate("() => { const a = document.querySelector('audio'); a.muted = true; a.play(); }")
    page.wait_for_function("() => document.querySelector('audio').currentTime > 0.3", timeout=15000)
    page.evaluate("() => { document.querySelector('audio').currentTime = 20; }")
    seeked = "() => { const a = document.querySelector('audio'); return a.currentTime >= 20; }"
    page.wait_for_function(seeked, timeout=15000)
    page.wait_for_function(
        "() => document.querySelector('audio').currentTime > 20.3", timeout=15000
    )
    assert any(status == 206 and r.startswith("bytes=") for status, r in ranges), ranges
    current = page.evaluate("() => document.querySelector('audio').currentSrc")
    assert current.endswith(f"/recordings/{world.recordings['a1']}/audio?variant=original")
    assert "reason" not in current, "a reason in a URL would end up in access logs"
    page.wait_for_selector("[data-player][data-waveform=ready]", timeout=15000)


# --- flow 3 -------------------------------------------------------------------------------------


def test_a_training_manager_sees_only_the_pseudonymised_variant_of_recordings_in_scope(
    world: World, browser: Any
) -> None:
    page = page_of(world, browser, "training_manager")
    page.goto(f"{world.base}/recordings")
    shown = {href.rsplit("/", 1)[1] for href in _hrefs(page, "tbody tr a")}
    assert shown == {str(world.recordings["a1"]), str(world.recordings["a2"])}
    assert page.get_by_text("agent-007").count() == 0
    page.goto(f"{world.base}/recordings/{world.recordings['a2']}")
    variants = page.get_by_label("Variant").locator("option").all_inner_texts()
    assert variants == ["Pseudonymiserad"]
    page.get_by_label("Skäl").fill("Introduktionsutbildning för nya medarbetare")
    page.get_by_role("button", name="Gå vidare till inspelningen").click()
    page.locator("audio").wait_for()
    transcript = page.locator(".transcript").inner_text()
    assert "[NAMN]" in transcript and "Kalle Exempel" not in transcript
    assert "variant=pseudonymised" in (page.locator("audio").get_attribute("src") or "")
    assert page.locator("#masked-list li").count() == 2
    page.wait_for_selector("[data-player][data-waveform=ready]", timeout=15000)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "recording-pseudonymised-sv-desktop.png"), full_page=True)


def _hrefs(page: Any, selector: str) -> list[str]:
    return [str(h) for h in page.eval_on_selector_all(selector, "els => els.map(e => e.href)")]


# --- flow 5 -------------------------------------------------------------------------------------


def test_a_direct_url_outside_ones_grants_is_not_found_and_the_dpo_sees_the_refused_attempt(
    world: World, browser: Any
) -> None:
    page = page_of(world, browser, "training_manager")
    response = page.goto(f"{world.base}/recordings/{world.recordings['b1']}")
    assert response is not None and response.status == 404
    assert page.get_by_role("heading", name="Hittades inte").is_visible()
    dpo = page_of(world, browser, "dpo")
    dpo.goto(f"{world.base}/dpo")
    refused = dpo.locator("section", has=dpo.get_by_role("heading", name="Nekade åtkomstförsök"))
    assert refused.get_by_text("training.manager@example.org").is_visible()
    dpo.get_by_role("link", name="Se dem i loggboken").click()
    row = dpo.locator("tbody tr", has_text=str(world.recordings["b1"]))
    assert row.locator(".status", has_text="Nekad").is_visible()  # the outcome, not the action


# --- screenshots --------------------------------------------------------------------------------

MAIN_PAGES: list[tuple[str | None, str, str]] = [
    (None, "/login", "login"),
    (None, "/policy", "policy"),
    (None, "/privacy/callers", "privacy-callers"),
    ("dpo", "/dpo", "dpo-dashboard"),
    ("dpo", "/grants", "grants"),
    ("dpo", "/audit", "audit"),
    ("dpo", "/dsars", "dsars"),
    ("dpo", "/policy/manage", "policy-manage"),
    ("it_admin", "/it", "it-dashboard"),
    ("it_admin", "/accounts", "accounts"),
    ("qa_manager", "/recordings", "recordings"),
    ("qa_manager", "/recordings/{a1}", "recording"),
    ("agent", "/withdrawal", "withdrawal"),
    ("agent", "/intranet/policy", "intranet-policy"),
]


def _switch_language(page: Any, code: str) -> None:
    button = page.locator(f"form.language-switch button[value={code}]")
    if button.count():
        button.click()
        page.wait_for_load_state()


UNLABELLED = """() => Array.from(document.querySelectorAll('input, select, textarea'))
  .filter(e => e.type !== 'hidden' && e.labels.length === 0 && !e.getAttribute('aria-label'))
  .map(e => e.name || e.id)"""
BASICS = """() => ({
  h1: document.querySelectorAll('h1').length,
  skip: !!document.querySelector('a.skip-link[href="#main"]') && !!document.getElementById('main'),
})"""


def test_each_main_page_in_both_languages_without_horizontal_overflow(
    world: World, browser: Any
) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    anonymous = browser.new_context(viewport={"width": 1280, "height": 800})
    visitor = anonymous.new_page()
    overflowing: list[str] = []
    for language in ("sv", "en"):
        for role, path, name in MAIN_PAGES:
            page = visitor if role is None else page_of(world, browser, role)
            page.goto(world.base + path.format(**{k: v for k, v in world.recordings.items()}))
            _switch_language(page, language)
            assert page.locator("html").get_attribute("lang") == language, (name, language)
            assert page.evaluate(UNLABELLED) == [], f"{name}: every field has a label"
            assert page.evaluate(BASICS) == {"h1": 1, "skip": True}, name
            for size, (width, height) in VIEWPORTS.items():
                page.set_viewport_size({"width": width, "height": height})
                if not no_horizontal_overflow(page):
                    overflowing.append(f"{name}-{language}-{size}: {page.evaluate(WIDEST)}")
                page.screenshot(path=str(SHOTS / f"{name}-{language}-{size}.png"), full_page=True)
            page.set_viewport_size({"width": 1280, "height": 800})
    for role in ("dpo", "it_admin", "qa_manager", "agent"):
        _switch_language(page_of(world, browser, role), "sv")
    anonymous.close()
    assert overflowing == []


def test_the_login_works_from_the_keyboard_with_a_visible_focus(world: World, browser: Any) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.goto(f"{world.base}/login")
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.className") == "skip-link"
    outline = page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none", "the focused element shows a focus ring"
    page.keyboard.press("Enter")
    stops = []
    for _ in range(8):
        page.keyboard.press("Tab")
        stops.append(page.evaluate("() => document.activeElement.name || ''"))
    assert [s for s in stops if s][:3] == ["email", "password", "totp"], stops
    context.close()


# --- narrow screens -----------------------------------------------------------------------------

NARROW, WIDE = {"width": 390, "height": 844}, {"width": 1280, "height": 800}
OUTSIDE_THE_SCREEN = """sel => Array.from(document.querySelectorAll(sel))
  .filter(e => { const r = e.getBoundingClientRect(); return r.left < 0 || r.right > innerWidth; })
  .map(e => e.textContent.trim())"""
OUT_OF_THEIR_CARD = """() => Array.from(document.querySelectorAll('.card, .card *'))
  .filter(e => e.scrollWidth > e.clientWidth + 1).map(e => e.textContent.trim())"""
MASKED_LABELS = """() => {
  const host = Array.from(document.querySelectorAll('#waveform *')).find(e => e.shadowRoot);
  if (!host) return null;
  return Array.from(host.shadowRoot.querySelectorAll('[part~="region-content"]')).map(p => ({
    lines: p.getBoundingClientRect().height / parseFloat(getComputedStyle(p).lineHeight || 0)
      || p.getBoundingClientRect().height / (1.2 * parseFloat(getComputedStyle(p).fontSize)),
    text: p.textContent,
  }));
}"""


def test_at_390_px_account_status_and_actions_are_on_screen(world: World, browser: Any) -> None:
    page = page_of(world, browser, "it_admin")
    page.set_viewport_size(NARROW)
    try:
        page.goto(f"{world.base}/accounts")
        assert no_horizontal_overflow(page)
        cells = "table.stack-narrow td .status, table.stack-narrow td button"
        assert page.locator(cells).count() >= 5
        assert page.evaluate(OUTSIDE_THE_SCREEN, cells) == []
        # Stacked, each value says what it is.
        assert page.locator("td[data-label='Status']").first.is_visible()
        page.screenshot(path=str(SHOTS / "accounts-sv-390.png"), full_page=True)
    finally:
        page.set_viewport_size(WIDE)


def test_at_390_px_nothing_sticks_out_of_a_dpo_card(world: World, browser: Any) -> None:
    page = page_of(world, browser, "dpo")
    page.set_viewport_size(NARROW)
    try:
        page.goto(f"{world.base}/dpo")
        assert no_horizontal_overflow(page)
        assert page.evaluate(OUT_OF_THEIR_CARD) == []
    finally:
        page.set_viewport_size(WIDE)


def test_at_390_px_masked_labels_stay_on_one_line(world: World, browser: Any) -> None:
    page = page_of(world, browser, "training_manager")
    page.set_viewport_size(NARROW)
    try:
        page.goto(f"{world.base}/recordings/{world.recordings['a2']}")  # reason given in flow 3
        page.wait_for_selector("[data-player][data-waveform=ready]", timeout=15000)
        labels = page.evaluate(MASKED_LABELS)
        assert labels and len(labels) == 2, labels  # one per masked interval, drawn once
        assert all(label["lines"] < 1.9 for label in labels), labels
        page.screenshot(path=str(SHOTS / "recording-masked-sv-390.png"), full_page=True)
    finally:
        page.set_viewport_size(WIDE)


# --- flow 4 (last: it deletes recordings) -------------------------------------------------------


def test_an_agents_withdrawal_removes_the_recordings_for_everyone_and_shows_the_reference(
    world: World, browser: Any
) -> None:
    page = page_of(world, browser, "agent")
    page.goto(f"{world.base}/withdrawal")
    page.get_by_label("Den uppringandes telefonnummer").check()
    page.get_by_label("Telefonnummer eller samtalsreferens").fill("070-123 45 67")
    page.get_by_role("button", name="Fortsätt").click()
    assert page.get_by_text("+46701234567").is_visible()
    page.get_by_role("button", name="Bekräfta återkallelse").click()
    reference = page.locator("#reference").inner_text()
    assert re.fullmatch(r"W-[0-9A-Z]{4}-[0-9A-Z]{4}", reference)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "withdrawal-reference-sv-desktop.png"), full_page=True)
    qa = page_of(world, browser, "qa_manager")
    qa.goto(f"{world.base}/recordings")
    assert _hrefs(qa, "tbody tr a") == [f"{world.base}/recordings/{world.recordings['b1']}"]
    gone = qa.goto(f"{world.base}/recordings/{world.recordings['a1']}")
    assert gone is not None and gone.status == 404
    trainer = page_of(world, browser, "training_manager")
    trainer.goto(f"{world.base}/recordings")
    assert trainer.locator("tbody tr").count() == 0
    assert trainer.get_by_text("Inga inspelningar matchar.").is_visible()
