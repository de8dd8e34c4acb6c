"""Automated mail on the real store and broker: spam held, bulk and list mail opening tickets
no notice answers, bounces of our notices kept on their tickets and the notices failed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from fastapi import FastAPI

from services.intake.app import IntakeSettings, create_app
from services.intake.domain import created_events
from services.intake.service import IntakeDeps
from services.intake.service.notify import queue_acknowledgement
from shared.events.intake import TicketCreated
from tests.helpers import Isolation, TopicReader, auth, in_process

pytestmark = pytest.mark.integration
GATEWAY = {**auth(["service"], sub="mail-gateway"), "Content-Type": "message/rfc822"}


@dataclass
class Intake:
    client: httpx.AsyncClient
    app: FastAPI

    @property
    def deps(self) -> IntakeDeps:
        deps = self.app.state.deps
        assert isinstance(deps, IntakeDeps)
        return deps

    async def post(self, raw: str) -> httpx.Response:
        content = raw.replace("\n", "\r\n").encode()
        return await self.client.post("/v1/inbound/email", content=content, headers=GATEWAY)

    async def acknowledge(self, number: str) -> str:
        """Queue the ticket's receipt as the consumer would; its Message-ID."""
        ticket = await self.deps.store.get_ticket_by_seq(int(number[3:]))
        assert ticket is not None
        (created,) = [
            e for e in created_events(ticket, ticket.created_at) if isinstance(e, TicketCreated)
        ]
        await queue_acknowledgement(created, self.deps)
        note = await self.deps.notes.get_notification(f"ack-{ticket.id}")
        return note.message_id if note else ""


@pytest.fixture
async def intake(isolated: Isolation, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Intake]:
    env = isolated.env(
        HELPDESK_REPLY_TOKEN_SECRET="automated mail tests",
        HELPDESK_MAIL_SPAM_SCORE_HEADER="X-Rspamd-Score",
    )
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    app = create_app(IntakeSettings())
    async with in_process(app) as client:
        yield Intake(client, app)


def plain(headers: str, body: str = "Hello.") -> str:
    return (
        f"To: support@helpdesk.switchboard.example\n{headers}\nContent-Type: text/plain\n\n{body}"
    )


async def test_spam_is_held_and_listed_by_its_reason(intake: Intake) -> None:
    flagged = await intake.post(
        plain("From: win@prize.example\nSubject: You won\nX-Spam-Flag: YES")
    )
    scored = await intake.post(plain("From: a@prize.example\nSubject: Offer\nX-Rspamd-Score: 15.2"))
    for held in (flagged, scored):
        assert held.status_code == 202 and held.json()["action"] == "quarantined"
        assert held.json()["kind"] == "spam" and held.json()["reason"].startswith("spam (")
    listed = await intake.client.get("/v1/inbound/quarantine?reason=spam", headers=auth())
    ids = {item["id"] for item in listed.json()["items"]}
    assert ids == {flagged.json()["quarantined"], scored.json()["quarantined"]}
    other = await intake.client.get("/v1/inbound/quarantine?reason=bounce", headers=auth())
    assert other.json()["items"] == []
    assert (await intake.client.get("/v1/tickets", headers=auth())).json()["items"] == []


@pytest.mark.parametrize(
    ("headers", "kind"),
    [
        ("Precedence: bulk", "bulk"),
        ("List-Id: <ops.lists.northwind.example>", "list"),
        ("Return-Path: <>", "null_sender"),
    ],
)
async def test_bulk_list_and_null_sender_mail_opens_a_ticket_no_notice_answers(
    intake: Intake, headers: str, kind: str
) -> None:
    opened = await intake.post(plain(f"From: ops@northwind.example\nSubject: Nightly\n{headers}"))
    person = await intake.post(plain("From: jan@northwind.example\nSubject: A person"))
    assert opened.json()["action"] == person.json()["action"] == "created", opened.text
    ticket = await intake.deps.store.get_ticket(opened.json()["ticket_id"])
    assert ticket is not None and ticket.automated == kind
    assert await intake.acknowledge(opened.json()["number"]) == ""  # no receipt for a program
    assert await intake.acknowledge(person.json()["number"]) != ""  # and one for a person


async def test_an_auto_reply_is_held_as_before(intake: Intake) -> None:
    held = await intake.post(
        plain("From: jan@northwind.example\nSubject: Away\nAuto-Submitted: auto-replied")
    )
    assert held.status_code == 202 and held.json()["kind"] == "auto_reply"


def dsn(original_id: str, subject: str = "[HD-000001] Received: VPN drops") -> str:
    return f"""From: MAILER-DAEMON@mx.northwind.example
To: support@helpdesk.switchboard.example
Subject: Undelivered Mail Returned to Sender
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="r"

--r
Content-Type: text/plain

I'm sorry, your message could not be delivered.
--r
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.northwind.example

Final-Recipient: rfc822; jan@northwind.example
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 User unknown

--r
Content-Type: message/rfc822

From: support@helpdesk.switchboard.example
Message-ID: <{original_id}>
Subject: {subject}

Your request has the number.
--r--
"""


async def test_a_bounce_of_our_notice_joins_its_ticket_and_fails_the_notice(
    isolated: Isolation, intake: Intake
) -> None:
    opened = (await intake.post(plain("From: jan@northwind.example\nSubject: VPN drops"))).json()
    receipt = await intake.acknowledge(opened["number"])
    bounce = await intake.post(dsn(receipt, subject="no number here"))
    assert bounce.status_code == 201, bounce.text
    assert (bounce.json()["action"], bounce.json()["number"]) == (
        "attached_to_bounce",
        opened["number"],
    )
    ticket = (await intake.client.get(f"/v1/tickets/{opened['number']}", headers=auth())).json()
    report = ticket["messages"][-1]
    assert (report["author_type"], report["visibility"]) == ("system", "internal")
    assert report["body"].startswith(
        "Delivery of the acknowledgement notice to jan@northwind.example failed: 5.1.1"
    )
    names = [a["filename"] for a in report["attachments"]]
    assert names == ["delivery-status.txt", "no number here.eml"]
    note = await intake.deps.notes.get_notification(f"ack-{opened['ticket_id']}")
    assert note is not None and note.status == "failed" and note.last_error is not None
    assert note.last_error.startswith("bounced: 5.1.1")
    async with TopicReader(isolated.infra.kafka, isolated.topic("intake")) as reader:
        await reader.read_until(lambda rs: any(b"notification.failed" in r.value for r in rs))
    (failed,) = reader.distinct_events(b"notification.failed")
    assert (failed.data.reason, failed.data.notification_id) == ("bounced", note.id)


async def test_a_bounce_found_by_the_number_it_quotes_and_one_naming_nothing(
    intake: Intake,
) -> None:
    opened = (await intake.post(plain("From: jan@northwind.example\nSubject: Disk"))).json()
    await intake.acknowledge(opened["number"])
    plain_bounce = plain(
        "From: MAILER-DAEMON\nSubject: failure notice",
        f"Sorry, no mailbox here by that name.\n--- Below this line is a copy of the message.\n"
        f"Subject: [{opened['number']}] Received: Disk\n",
    )
    found = (await intake.post(plain_bounce)).json()
    assert (found["action"], found["number"]) == ("attached_to_bounce", opened["number"])
    stray = await intake.post(dsn("someone-else@elsewhere.example", subject="Hello"))
    assert stray.status_code == 202 and stray.json()["kind"] == "bounce"
