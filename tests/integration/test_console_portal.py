"""The customer portal on FerretDB and Kafka with intake behind it: a customer sees its own
organisation's tickets and no other, neither by URL nor on the live stream, and never an
internal note; replies from the portal reach the ticket."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from services.console.app import ConsoleSettings
from services.console.app import create_app as create_console
from services.console.domain import Persona
from services.intake.app import IntakeSettings
from services.intake.app import create_app as create_intake
from tests.helpers import Isolation, auth
from tests.integration.console_support import (
    UNREACHABLE,
    SseLines,
    add,
    csrf_of,
    serving,
    sign_in,
)

pytestmark = pytest.mark.integration
ACME = auth(["customer"], org="acme", sub="carla@acme.example")
GLOBEX = auth(["customer"], org="globex", sub="gil@globex.example")
AGENT = auth(["agent"], sub="ann.first")


@dataclass
class Portal:
    console: str
    intake: httpx.AsyncClient

    def browser(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.console, follow_redirects=False, timeout=30)

    async def ticket(self, headers: dict[str, str], subject: str) -> dict[str, Any]:
        created = await self.intake.post("/v1/tickets", json={"subject": subject}, headers=headers)
        assert created.status_code == 201, created.text
        body: dict[str, Any] = created.json()
        return body


@pytest.fixture
async def portal(isolated: Isolation, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Portal]:
    for key, value in isolated.env().items():
        monkeypatch.setenv(key, value)
    async with serving(create_intake(IntakeSettings())) as intake:
        for name in ("TRIAGE", "SLA", "PROBLEMS", "REPORTING"):
            monkeypatch.setenv(f"HELPDESK_{name}_URL", UNREACHABLE)
        monkeypatch.setenv("HELPDESK_INTAKE_URL", intake)
        app = create_console(ConsoleSettings())
        async with serving(app) as url, httpx.AsyncClient(base_url=intake) as client:
            await add(app, "carla", Persona.CUSTOMER, organization_id="acme",
                      email="carla@acme.example", name="Carla")  # fmt: skip
            await add(app, "ann", Persona.AGENT, agent_id="ann.first", name="Ann First")
            yield Portal(url, client)


async def test_a_customer_sees_only_its_organisations_tickets_whatever_the_url(
    portal: Portal,
) -> None:
    ours = await portal.ticket(ACME, "Line 3 controller does not boot")
    theirs = await portal.ticket(GLOBEX, "Globex secret: the warehouse robots")
    async with portal.browser() as carla:
        await sign_in(carla, "carla")
        listing = await carla.get("/portal")
        assert ours["number"] in listing.text and theirs["number"] not in listing.text
        assert "Globex secret" not in listing.text
        page = await carla.get(f"/portal/tickets/{ours['number']}")
        assert page.status_code == 200 and "Line 3 controller" in page.text
        csrf = csrf_of(page.text)
        for ref in (theirs["number"], theirs["id"]):
            for path in (f"/portal/tickets/{ref}", f"/portal/tickets/{ref}/live"):
                other = await carla.get(path)
                assert other.status_code == 404 and "Globex secret" not in other.text
            reply = await carla.post(
                f"/portal/tickets/{ref}/messages", data={"csrf": csrf, "body": "let me in"}
            )
            assert reply.status_code == 404
            confirm = await carla.post(f"/portal/tickets/{ref}/confirm", data={"csrf": csrf})
            assert confirm.status_code == 404
        assert (await carla.get(f"/tickets/{theirs['number']}")).status_code == 403
        sent = await carla.post(
            f"/portal/tickets/{ours['number']}/messages",
            data={"csrf": csrf, "body": "It shows error E42 on the splash screen."},
        )
        assert sent.status_code == 303
    ticket = await portal.intake.get(f"/v1/tickets/{ours['id']}", headers=AGENT)
    assert [m["body"] for m in ticket.json()["messages"]][-1] == (
        "It shows error E42 on the splash screen."
    )
    globex = await portal.intake.get(f"/v1/tickets/{theirs['id']}", headers=AGENT)
    assert len(globex.json()["messages"]) == 1  # nothing reached the other one


async def test_a_customer_hears_live_only_of_its_own_tickets_and_never_of_internal_notes(
    portal: Portal,
) -> None:
    async with portal.browser() as carla, portal.browser() as ann:
        await sign_in(carla, "carla")
        await sign_in(ann, "ann")
        async with (
            carla.stream("GET", "/events") as theirs,
            ann.stream("GET", "/events") as staff,
        ):
            assert theirs.headers["content-type"].startswith("text/event-stream")
            carla_hears, ann_hears = SseLines(theirs), SseLines(staff)
            for lines in (carla_hears, ann_hears):  # registered with the hub: the first line
                assert await lines.next() == ": listening"
            globex = await portal.ticket(GLOBEX, "Globex only")
            await ann_hears.until(globex["number"])  # handed to every listener by now
            acme = await portal.ticket(ACME, "ACME printer")
            note = {"body": "Customer is grumpy", "visibility": "internal"}
            reply = {"body": "We are on it", "visibility": "public"}
            for body, who in ((note, AGENT), (reply, AGENT), ({"body": "Thanks"}, ACME)):
                path = f"/v1/tickets/{acme['id']}/messages"
                assert (await portal.intake.post(path, json=body, headers=who)).status_code == 201
            seen_by_carla, _ = await carla_hears.until("ticket.customer_replied")
            seen_by_ann, _ = await ann_hears.until("ticket.customer_replied")
    assert not [line for line in seen_by_carla if globex["number"] in line]
    assert any("ticket.created" in line and acme["number"] in line for line in seen_by_carla)

    def added(lines: list[str]) -> int:
        return sum("ticket.message_added" in line and acme["number"] in line for line in lines)

    assert added(seen_by_ann) == added(seen_by_carla) + 1  # the internal note, staff only
