"""Every page, for every role that may see it, in Swedish and in English: no untranslated codes.

The pages are found from the app's routes and the route table of
tests/access/test_route_matrix.py, so a new page is checked without being listed here. Over a
world with a bit of everything (recordings, grants, plays with reasons, refusals, withdrawals,
transfers, access requests, a policy draft), the visible text of each page must hold no
internal codes: snake_case codes (`quality_assurance`, `provider_deleted`), audit actions
(`recording.play`), reasons prefixed with a purpose code (`training: …`), bare role, state or
source codes on Swedish pages, `[phone]` on Swedish pages, and no language named in the other
language ("Rapport på English").
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from html.parser import HTMLParser

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from callvault.access.grants import GrantScope, create_grant
from callvault.access.models import ScopeKind
from callvault.accounts.auth import Principal
from callvault.app import create_app
from callvault.runtime import Runtime
from tests.access.test_route_matrix import PUBLIC_ROUTES, ROUTE_ROLES, app_routes
from tests.web.conftest import CSRF, People, Person, log_in
from tests.web.seed import add_recording

ROLES = ("dpo", "it_admin", "qa_manager", "training_manager", "agent")

# Codes that read as words in English but never belong on a Swedish page.
SWEDISH_PAGE_CODES = (
    "dpo", "it_admin", "qa_manager", "training_manager", "agent", "training",
    "quality_assurance", "pseudonymised", "original", "pending", "fetched", "ingested",
    "provider_deleted", "discarded", "failed", "ingest", "ivr", "web", "api", "cli",
    "anonymous", "refused", "ok", "error", "open", "in_progress", "delivered",
    "closed", "caller", "employee", "withdrawal", "retention", "accepted", "no_answer",
)  # fmt: skip
ACTION_PREFIXES = (
    "access", "account", "audit", "auth", "consent", "dsar", "grant", "keys", "policy",
    "recording", "retention", "session", "telephony", "token", "transfer", "webhook",
    "withdrawal", "vault",
)  # fmt: skip
SNAKE = re.compile(r"(?<![\w.@/-])[a-z]+(?:_[a-z]+)+(?![\w@/-])")
ACTION = re.compile(rf"(?<![\w.@/-])(?:{'|'.join(ACTION_PREFIXES)})\.[a-z_]+(?![\w@/-])")
PURPOSE_PREFIX = re.compile(r"(?<![\w-])(?:training|quality_assurance):")
BARE = re.compile(rf"(?<![\w.@/-])(?:{'|'.join(SWEDISH_PAGE_CODES)})(?![\w@/-])")
PLACEHOLDER = re.compile(r"\[(?:phone|email)\]")
EMAILS_AND_URLS = re.compile(r"\S+@\S+|https?://\S+|www\.\S+")
OTHER_LANGUAGE = {"sv": re.compile(r"\bEnglish\b"), "en": re.compile(r"\bsvenska\b")}


class _VisibleText(HTMLParser):
    """The text a person reads: no scripts, styles, code samples, hashes or ids (.secret), and
    nothing marked as written in another language (the language switch names itself)."""

    SKIPPED = {"script", "style", "code", "textarea"}
    VOID = {"br", "hr", "img", "input", "meta", "link", "source", "wbr", "area", "col"}

    def __init__(self, language: str) -> None:
        super().__init__()
        self.language = language
        self.stack: list[bool] = []  # per open element: is its text skipped
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.VOID:
            return
        found = dict(attrs)
        skipped = (
            (bool(self.stack) and self.stack[-1])
            or tag in self.SKIPPED
            or "secret" in (found.get("class") or "").split()
            or (found.get("lang") not in (None, self.language) and tag != "html")
        )
        self.stack.append(skipped)

    def handle_endtag(self, tag: str) -> None:
        if tag not in self.VOID and self.stack:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        if not (self.stack and self.stack[-1]):
            self.parts.append(data)


def untranslated(html: str, language: str) -> list[str]:
    """The untranslated codes in a page's visible text."""
    parser = _VisibleText(language)
    parser.feed(html)
    text = EMAILS_AND_URLS.sub(" ", " ".join(parser.parts))
    found = SNAKE.findall(text) + ACTION.findall(text) + PURPOSE_PREFIX.findall(text)
    found += OTHER_LANGUAGE[language].findall(text)
    if language == "sv":
        found += BARE.findall(text) + PLACEHOLDER.findall(text)
    return sorted(set(found))


@pytest.mark.parametrize(
    ("html", "language", "expected"),
    [
        ("<p>recording.play</p>", "sv", ["recording.play"]),
        ("<p>Skäl: training: Introduktion</p>", "sv", ["training", "training:"]),
        ("<td>provider_deleted: 2</td>", "en", ["provider_deleted"]),
        ("<p>Rapport på English</p>", "sv", ["English"]),
        ("<p>Report in svenska</p>", "en", ["svenska"]),
        ("<p>Registrerat av: ingest</p>", "sv", ["ingest"]),
        ("<p>samtal från [phone]</p>", "sv", ["[phone]"]),
        ('<button lang="en">English</button><p>qa_manager@example.org</p>', "sv", []),
        ("<p>agent-007, www.exempel.se, <code>recording.*</code></p>", "sv", []),
        ('<p>One agent\'s calls, <span class="secret">a_b</span></p>', "en", []),
    ],
)
def test_the_checker_finds_codes_and_only_codes(
    html: str, language: str, expected: list[str]
) -> None:
    assert untranslated(html, language) == expected


# --- the world ------------------------------------------------------------------------------


@dataclass
class World:
    people: dict[str, Person]
    params: dict[str, list[str]]


def _as_dpo(person: Person) -> Principal:
    return Principal(kind="account", id=uuid.UUID(person.id), role="dpo", session_id=None)


@pytest.fixture
def world(session: Session, runtime: Runtime, people: People) -> World:
    from callvault.dsar.service import build_bundle, deliver, open_request
    from callvault.policy.drafts import create_draft
    from callvault.policy.service import ensure_first_version
    from callvault.telephony.models import JobState, ProviderRecordingJob
    from callvault.withdrawal.service import withdraw

    runtime.keyring.ensure()
    now = runtime.clock.now()
    version = ensure_first_version(session, runtime)
    version.effective_from = now - timedelta(days=30)  # the seeded calls fall under it
    session.flush()
    for role in ROLES:
        people[role]  # noqa: B018 - create every account now
    calls = [
        add_recording(session, runtime, call_id=f"CA-i18n-{n}", caller=caller,
                      started_at=now - timedelta(days=n + 1), seed=n)
        for n, caller in enumerate(("+46701234567", "+46709876543"))
    ]  # fmt: skip
    dpo = _as_dpo(people["dpo"])
    for grantee, purpose, variant in (
        ("qa_manager", "quality_assurance", "original"),
        ("training_manager", "training", "pseudonymised"),
    ):
        create_grant(
            session, runtime, dpo, grantee_id=uuid.UUID(people[grantee].id), purpose=purpose,
            variant=variant, scope=GrantScope(ScopeKind.ALL), valid_from=now - timedelta(hours=1),
            valid_until=now + timedelta(days=6), note="Kalibrering", source="test",
        )  # fmt: skip
    withdraw(session, runtime, number="070-111 22 33", actor="system", channel="web")
    for state, attempts in ((JobState.PENDING, 0), (JobState.FAILED, 4), (JobState.INGESTED, 1)):
        session.add(
            ProviderRecordingJob(
                recording_sid=f"RE{uuid.uuid4().hex}", call_sid=f"CA{uuid.uuid4().hex}",
                state=state.value, attempts=attempts, last_error_code="provider_error",
                next_attempt_at=now, created_at=now, updated_at=now,
            )
        )  # fmt: skip
    caller_request = open_request(
        session, runtime, number="070-123 45 67", language="sv", actor=dpo.actor, source="test"
    )
    employee_request = open_request(
        session, runtime, account_id=uuid.UUID(people["agent"].id), language="en",
        actor=dpo.actor, source="test",
    )  # fmt: skip
    build_bundle(session, runtime, caller_request.id, actor=dpo.actor, source="test")
    deliver(session, runtime, caller_request.id, actor=dpo.actor, source="test")
    draft = create_draft(session, runtime, actor=dpo, change_note="Förtydligande")
    session.flush()
    return World(
        people=dict(people),
        params={
            "recording_id": [str(calls[0])],
            "dsar_id": [str(caller_request.id), str(employee_request.id)],
            "draft_id": [str(draft.id)],
            "number": ["1"],
            "audience": ["callers", "employees"],
        },
    )


def _state_reasons(client: TestClient, token: str, world: World, role: str) -> None:
    """Managers give a reason (one with a phone number in it), so plays and reasons exist."""
    purpose, variant = {
        "qa_manager": ("quality_assurance", "original"),
        "training_manager": ("training", "pseudonymised"),
    }[role]
    for rid in world.params["recording_id"]:
        client.post(
            f"/recordings/{rid}/reason",
            data={"csrf_token": token, "purpose": purpose, "variant": variant,
                  "reason": "Uppföljning av samtal från 070-123 45 67"},
        )  # fmt: skip


def _urls(path: str, world: World) -> Iterator[str]:
    names = re.findall(r"\{(\w+)\}", path)
    if not names:
        yield path
        return
    values = [world.params.get(name, [str(uuid.uuid4())]) for name in names]
    for index in range(max(len(v) for v in values)):
        url = path
        for name, options in zip(names, values, strict=True):
            url = url.replace(f"{{{name}}}", options[min(index, len(options) - 1)])
        yield url


def _set_language(client: TestClient, language: str) -> None:
    page = client.get("/account") if "session" in str(client.cookies) else client.get("/login")
    token = CSRF.search(page.text)
    data = {"language": language, "next": "/"}
    if token:
        data["csrf_token"] = token.group(1)
    client.post("/language", data=data, follow_redirects=False)


def _check(client: TestClient, urls: list[str], problems: list[str], who: str) -> int:
    checked = 0
    for language in ("sv", "en"):
        _set_language(client, language)
        for url in urls:
            response = client.get(url, follow_redirects=True)
            if not response.headers.get("content-type", "").startswith("text/html"):
                continue
            assert f'lang="{language}"' in response.text[:200], (who, url, language)
            checked += 1
            found = untranslated(response.text, language)
            if found:
                problems.append(f"{who} {language} {url}: {found}")
    _set_language(client, "sv")
    return checked


def test_every_page_in_both_languages_has_no_untranslated_codes(
    runtime: Runtime, world: World
) -> None:
    app = create_app(runtime)
    gets = sorted({path for method, path in app_routes(app) if method == "GET"})
    pages = [p for p in gets if not p.startswith(("/api/", "/static", "/telephony/", "/docs"))]
    problems: list[str] = []
    checked = 0
    with TestClient(app, base_url="http://testserver") as client:
        client.headers["accept"] = "text/html"
        public = [p for p in pages if ("GET", p) in PUBLIC_ROUTES]
        checked += _check(
            client, [u for p in public for u in _urls(p, world)], problems, "anonymous"
        )
        for role in ROLES:
            token = log_in(client, runtime, world.people[role])
            if role in ("qa_manager", "training_manager"):
                _state_reasons(client, token, world, role)
            mine = [p for p in pages if role in ROUTE_ROLES.get(("GET", p), ())]
            checked += _check(client, [u for p in mine for u in _urls(p, world)], problems, role)
            client.post("/logout", data={"csrf_token": token})
            client.cookies.clear()
    assert checked > 40, "the world should give every page something to show"
    assert problems == [], "\n".join(problems)


def test_the_world_has_plays_with_reasons_to_show(runtime: Runtime, world: World) -> None:
    """The check above only means something if the audit trail has what the pages translate."""
    from callvault.audit.models import AuditEntry

    with runtime.sessions() as session:
        actions = set(session.scalars(sa.select(AuditEntry.action)))
    assert {"withdrawal.register", "dsar.deliver", "grant.create"} <= actions
