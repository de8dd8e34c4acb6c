"""The console's sign-in on FerretDB and Kafka, intake behind it over HTTP: Argon2id accounts,
sessions in HttpOnly SameSite cookies that sign-out and expiry end on the server, CSRF on every
form, and the limit on failed sign-ins."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from services.console.app import ConsoleSettings
from services.console.app import create_app as create_console
from services.console.domain import Persona
from services.console.store import ACCOUNTS, SESSIONS
from services.intake.app import IntakeSettings
from services.intake.app import create_app as create_intake
from shared.clock import FixedClock
from tests.helpers import Isolation
from tests.integration.console_support import (
    PASSWORD,
    UNREACHABLE,
    add,
    csrf_of,
    deps_of,
    serving,
    sign_in,
)

pytestmark = pytest.mark.integration


@dataclass
class Console:
    url: str
    clock: FixedClock
    app: object

    def browser(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.url, follow_redirects=False, timeout=30)


@pytest.fixture
async def console(isolated: Isolation, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Console]:
    for key, value in isolated.env().items():
        monkeypatch.setenv(key, value)
    clock = FixedClock(datetime.now(UTC))
    async with serving(create_intake(IntakeSettings())) as intake:
        for name in ("TRIAGE", "SLA", "PROBLEMS", "REPORTING"):
            monkeypatch.setenv(f"HELPDESK_{name}_URL", UNREACHABLE)
        monkeypatch.setenv("HELPDESK_INTAKE_URL", intake)
        app = create_console(ConsoleSettings(), clock)
        async with serving(app) as url:
            await add(app, "carla", Persona.CUSTOMER, organization_id="acme",
                      email="carla@acme.example", name="Carla Customer")  # fmt: skip
            await add(app, "ann", Persona.AGENT, agent_id="ann.first", name="Ann First")
            yield Console(url, clock, app)


async def test_an_account_signs_in_with_its_password_and_out_again(console: Console) -> None:
    async with console.browser() as browser:
        assert (await browser.get("/")).headers["location"] == "/sign-in"
        signed_in = await sign_in(browser, "carla")
        assert signed_in.status_code == 303 and signed_in.headers["location"] == "/"
        cookie = signed_in.headers["set-cookie"].lower()
        assert "sb_session=" in cookie and "httponly" in cookie and "samesite=lax" in cookie
        assert "secure" not in cookie  # HELPDESK_CONSOLE_COOKIE_SECURE is off here
        assert (await browser.get("/")).headers["location"] == "/portal"
        portal = await browser.get("/portal")
        assert portal.status_code == 200 and "Our tickets" in portal.text
        assert "Carla Customer" in portal.text
        session_id = browser.cookies["sb_session"]

        out = await browser.post("/sign-out", data={"csrf": csrf_of(portal.text)})
        assert out.status_code == 303 and out.headers["location"] == "/sign-in"
    async with console.browser() as replay:  # the old cookie, kept by someone: ended for good
        replay.cookies.set("sb_session", session_id)
        assert (await replay.get("/portal")).headers["location"] == "/sign-in"
        assert (await replay.get("/events")).status_code == 401
    deps = deps_of(console.app)  # type: ignore[arg-type]
    stored = await deps.store.get_account("carla")
    assert stored is not None and stored.password_hash.startswith("$argon2id$")


async def test_the_session_store_keeps_no_cookie_and_no_password(
    console: Console, isolated: Isolation
) -> None:
    async with console.browser() as browser:
        await sign_in(browser, "ann")
        session_id = browser.cookies["sb_session"]
    db = deps_of(console.app).store._sessions.database  # type: ignore[arg-type, attr-defined]
    sessions = await db[SESSIONS].find({}).to_list(None)
    accounts = await db[ACCOUNTS].find({}).to_list(None)
    assert len(sessions) == 1 and session_id not in str(sessions)
    assert PASSWORD not in str(accounts)


async def test_a_wrong_password_or_unknown_user_is_refused_alike(console: Console) -> None:
    async with console.browser() as browser:
        wrong = await sign_in(browser, "carla", "not her password")
        nobody = await sign_in(browser, "nobody", PASSWORD)
        for refused in (wrong, nobody):
            assert refused.status_code == 401
            assert "The username or the password is wrong." in refused.text
            assert "sb_session" not in refused.headers.get("set-cookie", "")
        assert (await browser.get("/portal")).headers["location"] == "/sign-in"


async def test_the_sixth_failure_within_15_minutes_is_answered_429_until_the_window_passes(
    console: Console,
) -> None:
    async with console.browser() as browser:
        for _ in range(5):
            assert (await sign_in(browser, "Carla", "guess")).status_code == 401
        blocked = await sign_in(browser, "carla", PASSWORD)  # even the right one now
        assert blocked.status_code == 429
        assert "Too many failed sign-ins" in blocked.text
        assert 0 < int(blocked.headers["retry-after"]) <= 15 * 60 + 1
        # the address made five failures too: another account from it waits as well
        assert (await sign_in(browser, "ann", PASSWORD)).status_code == 429
        console.clock.advance(timedelta(minutes=15, seconds=1))
        assert (await sign_in(browser, "carla", PASSWORD)).status_code == 303


async def test_a_form_without_its_csrf_token_is_refused_and_changes_nothing(
    console: Console,
) -> None:
    async with console.browser() as browser:
        form = await browser.get("/sign-in")
        no_token = await browser.post("/sign-in", data={"username": "ann", "password": PASSWORD})
        assert no_token.status_code == 403 and "expired" in no_token.text
        other = await browser.post(
            "/sign-in", data={"username": "ann", "password": PASSWORD, "csrf": "forged"}
        )
        assert other.status_code == 403
        assert csrf_of(form.text)
        await sign_in(browser, "carla")
        portal = await browser.get("/portal")
        for data in ({}, {"csrf": "forged"}, {"csrf": ""}):
            refused = await browser.post("/sign-out", data=data)
            assert refused.status_code == 403 and "Form refused" in refused.text
            reply = await browser.post("/portal/tickets/HD-000001/messages", data=data | {
                "body": "hello"})  # fmt: skip
            assert reply.status_code == 403
        assert (await browser.get("/portal")).status_code == 200  # still signed in
        assert (await browser.post("/sign-out", data={"csrf": csrf_of(portal.text)})).is_redirect


async def test_a_session_ends_when_it_expires(console: Console) -> None:
    async with console.browser() as browser:
        await sign_in(browser, "carla")
        assert (await browser.get("/portal")).status_code == 200
        console.clock.advance(timedelta(hours=8, seconds=1))
        assert (await browser.get("/portal")).headers["location"] == "/sign-in"


async def test_staff_and_customers_keep_to_their_own_pages(console: Console) -> None:
    async with console.browser() as browser:
        await sign_in(browser, "carla")
        assert (await browser.get("/worklist")).status_code == 403
    async with console.browser() as browser:
        await sign_in(browser, "ann")
        assert (await browser.get("/")).headers["location"] == "/worklist"
        assert (await browser.get("/portal")).status_code == 403
