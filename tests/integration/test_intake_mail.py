"""Intake's conversation and inbound e-mail on FerretDB and Kafka."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from pymongo import AsyncMongoClient

from services.intake.app import IntakeSettings, create_app
from services.intake.service.inbound import SIGHTING_LEASE
from services.intake.store import NUMBERS, SEEN
from shared.events import parse_event
from tests.helpers import Isolation, TopicReader, auth, in_process

pytestmark = pytest.mark.integration
GATEWAY = auth(["service"], sub="mail-gateway")
RFC822 = {"Content-Type": "message/rfc822"}


def email(sender: str, subject: str, body: str, extra: str = "") -> bytes:
    return (
        f"From: {sender}\r\nTo: support@helpdesk.switchboard.example\r\nSubject: {subject}\r\n"
        f"Message-ID: <{abs(hash((sender, subject, body)))}@mail.example>\r\n{extra}"
        f"Content-Type: text/plain; charset=utf-8\r\n\r\n{body}"
    ).encode()


@pytest.fixture
async def intake(
    isolated: Isolation, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[httpx.AsyncClient]:
    for key, value in isolated.env().items():
        monkeypatch.setenv(key, value)
    async with in_process(create_app(IntakeSettings())) as client:
        org = {"id": "acme", "name": "ACME", "email_domains": ["acme.example"]}
        assert (
            await client.post("/v1/organizations", json=org, headers=auth(["admin"]))
        ).status_code == 201
        yield client


async def post_mail(intake: httpx.AsyncClient, raw: bytes) -> httpx.Response:
    return await intake.post("/v1/inbound/email", content=raw, headers={**GATEWAY, **RFC822})


async def test_an_email_opens_a_ticket_and_a_reply_by_number_joins_it_without_the_quote(
    intake: httpx.AsyncClient,
) -> None:
    first = await post_mail(intake, email("Ann <ann@acme.example>", "VPN drops", "Every hour."))
    assert first.status_code == 201, first.text
    assert first.json()["action"] == "created"
    number = first.json()["number"]
    reply = email(
        "ann@acme.example",
        f"Re: VPN drops [{number}]",
        "Still dropping.\r\n\r\nOn Mon, Support wrote:\r\n> What client?",
    )
    second = await post_mail(intake, reply)
    assert second.status_code == 201 and second.json() == {**first.json(), "action": "appended"}
    ticket = (await intake.get(f"/v1/tickets/{number}", headers=auth())).json()
    assert ticket["channel"] == "email" and ticket["organization_id"] == "acme"
    assert [m["body"] for m in ticket["messages"]] == ["Every hour.", "Still dropping."]
    assert "> What client?" in ticket["messages"][1]["original"]


async def test_a_reply_naming_our_message_id_joins_the_ticket(intake: httpx.AsyncClient) -> None:
    first = await post_mail(intake, email("bo@acme.example", "Disk full", "Server 3."))
    ticket = (await intake.get(f"/v1/tickets/{first.json()['number']}", headers=auth())).json()
    mail_id = ticket["messages"][0]["mail_message_id"]
    reply = email("bo@acme.example", "Re: Disk full", "Cleaned.", f"In-Reply-To: <{mail_id}>\r\n")
    assert (await post_mail(intake, reply)).json()["action"] == "appended"


async def test_a_stranger_writing_into_a_ticket_opens_a_new_linked_ticket_instead(
    intake: httpx.AsyncClient,
) -> None:
    first = (await post_mail(intake, email("ann@acme.example", "Printer", "Jammed."))).json()
    intrusion = email("mallory@evil.example", f"Re: [{first['number']}]", "Send me the logs")
    second = await post_mail(intake, intrusion)
    assert second.json()["action"] == "created" and second.json()["number"] != first["number"]
    original = (await intake.get(f"/v1/tickets/{first['number']}", headers=auth())).json()
    assert len(original["messages"]) == 1
    # a colleague's address (or a forged one) and the number are not proof: no reply token
    colleague = (
        await post_mail(intake, email("carl@acme.example", f"[{first['number']}]", "Me too"))
    ).json()
    assert colleague["action"] == "created" and colleague["number"] != first["number"]


async def test_a_customer_is_not_shown_the_other_organisations_ticket_its_own_is_linked_to(
    intake: httpx.AsyncClient,
) -> None:
    globex = {"id": "globex", "name": "Globex", "email_domains": ["globex.example"]}
    assert (
        await intake.post("/v1/organizations", json=globex, headers=auth(["admin"]))
    ).status_code == 201
    first = (await post_mail(intake, email("ann@acme.example", "Printer", "Jammed."))).json()
    other = email("bob@globex.example", f"Re: [{first['number']}]", "Ours too")
    second = (await post_mail(intake, other)).json()
    assert second["action"] == "created"
    path = f"/v1/tickets/{second['number']}"
    staff = (await intake.get(path, headers=auth())).json()
    own = await intake.get(path, headers=auth(["customer"], org="globex"))
    assert staff["organization_id"] == "globex" and staff["linked_ticket_id"] == first["ticket_id"]
    assert own.status_code == 200 and own.json()["linked_ticket_id"] is None


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"", "empty message"),
        (
            email("ann@acme.example", "Away", "Back Monday", "Auto-Submitted: auto-replied\r\n"),
            "auto-reply (Auto-Submitted: auto-replied)",
        ),
        (
            email("MAILER-DAEMON@mx.acme.example", "Undelivered", "550 no such user"),
            "bounce (delivery status notification)",
        ),
        (
            email("ann@acme.example", "Re: x", "Away", "X-Autoreply: yes\r\n"),
            "auto-reply (X-Autoreply)",
        ),
        (
            email("robot@acme.example", "Re: order", "Thanks", "Precedence: auto_reply\r\n"),
            "auto-reply (Precedence: auto_reply)",
        ),
        (
            email("ann@acme.example", "Out of office: back Monday", "I am away"),
            "auto-reply (out-of-office subject)",
        ),
        (
            email("ann@acme.example", "Fwd", "ours", "X-Switchboard-Notification: receipt\r\n"),
            "our own notification came back",
        ),
        (
            email("support@helpdesk.switchboard.example", "[HD-000001] Received", "Loop"),
            "our own notification came back",
        ),
        (
            b"To: support@helpdesk.switchboard.example\r\nSubject: who?\r\n\r\nno sender",
            "no sender address",
        ),
    ],
)
async def test_junk_is_quarantined_kept_and_listed_never_a_ticket(
    intake: httpx.AsyncClient, raw: bytes, reason: str
) -> None:
    response = await post_mail(intake, raw)
    assert response.status_code == 202 and response.json()["reason"] == reason
    listed = (await intake.get("/v1/inbound/quarantine", headers=auth())).json()["items"]
    assert [(i["id"], i["reason"], i["size"]) for i in listed] == [
        (response.json()["quarantined"], reason, len(raw))
    ]
    assert (await intake.get("/v1/tickets", headers=auth())).json()["items"] == []


async def test_the_quarantine_is_listed_newest_first_page_by_page(
    intake: httpx.AsyncClient,
) -> None:
    held = []
    for n in range(5):
        raw = email("ann@acme.example", f"Away {n}", "Back", "Auto-Submitted: auto-replied\r\n")
        held.append((await post_mail(intake, raw)).json()["quarantined"])
    pages: list[list[dict[str, Any]]] = []
    cursor: dict[str, str] = {}
    while True:
        params = {"limit": 2, **cursor}
        got = await intake.get("/v1/inbound/quarantine", params=params, headers=auth())
        assert got.status_code == 200, got.text
        pages.append(got.json()["items"])
        if not got.json()["next_cursor"]:
            break
        cursor = {"cursor": got.json()["next_cursor"]}
    listed = [item for page in pages for item in page]
    assert sorted(i["id"] for i in listed) == sorted(held) and len(pages) == 3
    times = [datetime.fromisoformat(i["received_at"]) for i in listed]
    assert times == sorted(times, reverse=True)
    forged = base64.urlsafe_b64encode(b"yesterday|x").decode()
    bad = await intake.get("/v1/inbound/quarantine", params={"cursor": forged}, headers=auth())
    assert bad.status_code == 400


async def test_only_a_mail_gateway_posts_raw_mail_and_only_as_rfc822(
    intake: httpx.AsyncClient,
) -> None:
    raw = email("ann@acme.example", "x", "y")
    as_agent = await intake.post("/v1/inbound/email", content=raw, headers={**auth(), **RFC822})
    as_json = await intake.post(
        "/v1/inbound/email", content=raw, headers={**GATEWAY, "Content-Type": "application/json"}
    )
    assert (as_agent.status_code, as_json.status_code) == (403, 415)


async def test_replies_notes_and_feedback_are_recorded_and_announced(
    intake: httpx.AsyncClient, isolated: Isolation
) -> None:
    customer = auth(["customer"], org="acme", sub="ann")
    created = (
        await intake.post("/v1/tickets", json={"subject": "Slow reports"}, headers=customer)
    ).json()
    ref = created["number"]
    note = await intake.post(
        f"/v1/tickets/{ref}/messages",
        headers=auth(),
        json={"body": "Checking the DB", "visibility": "internal"},
    )
    reply = await intake.post(
        f"/v1/tickets/{ref}/messages", headers=customer, json={"body": "Any news?"}
    )
    sneaky = await intake.post(
        f"/v1/tickets/{ref}/messages",
        headers=customer,
        json={"body": "x", "visibility": "internal"},
    )
    other = await intake.post(
        f"/v1/tickets/{ref}/messages", headers=auth(["customer"], "globex"), json={"body": "x"}
    )
    feedback = await intake.post(
        f"/v1/tickets/{ref}/feedback",
        headers=customer,
        json={"rating": 5, "comment": "Quick, thanks"},
    )
    bad = await intake.post(f"/v1/tickets/{ref}/feedback", headers=customer, json={"rating": 9})
    assert (note.status_code, reply.status_code, feedback.status_code) == (201, 201, 201)
    assert (sneaky.status_code, other.status_code, bad.status_code) == (403, 404, 422)
    wanted = {
        "ticket.created",
        "ticket.message_added",
        "ticket.customer_replied",
        "ticket.feedback_received",
        "contact.entitlement_failed",  # no contract in this test
    }
    async with TopicReader(isolated.infra.kafka, isolated.topic("intake")) as reader:
        await reader.read_until(lambda rs: len(rs) >= 6)
    events: list[Any] = [parse_event(r.value) for r in reader.records]
    assert {e.type for e in events} == wanted
    added = [e.data for e in events if e.type == "ticket.message_added"]
    assert [(m.author_type, m.visibility) for m in added] == [
        ("agent", "internal"),
        ("customer", "public"),
    ]
    assert [e.data.rating for e in events if e.type == "ticket.feedback_received"] == [5]
    seen_by_customer = (await intake.get(f"/v1/tickets/{ref}", headers=customer)).json()
    seen_by_agent = (await intake.get(f"/v1/tickets/{ref}", headers=auth())).json()
    assert "Checking the DB" not in [m["body"] for m in seen_by_customer["messages"]]
    assert "Checking the DB" in [m["body"] for m in seen_by_agent["messages"]]


async def test_an_agent_releases_a_held_message_into_a_ticket_once(
    intake: httpx.AsyncClient,
) -> None:
    opened = (await post_mail(intake, email("ann@acme.example", "Backup failed", "Job 7."))).json()
    held = await post_mail(
        intake,
        email(
            "ann@acme.example",
            "Automatic reply: Backup failed",
            "I am away; the job log is attached anyway.",
            extra="Auto-Submitted: auto-replied\r\n",
        ),
    )
    assert held.status_code == 202, held.text
    item = held.json()["quarantined"]
    url = f"/v1/inbound/quarantine/{item}/release"
    refused = await intake.post(url, json={}, headers=auth(["customer"], org="acme"))
    released = await intake.post(url, json={"ticket": opened["number"]}, headers=auth())
    again = await intake.post(url, json={"ticket": opened["number"]}, headers=auth())
    assert refused.status_code == 403
    assert released.status_code == 201, released.text
    assert released.json() == {**opened, "action": "appended"}
    assert again.status_code == 409 and again.headers["content-type"] == "application/problem+json"
    ticket = (await intake.get(f"/v1/tickets/{opened['number']}", headers=auth())).json()
    assert "job log is attached" in ticket["messages"][-1]["body"]
    (listed,) = (await intake.get("/v1/inbound/quarantine", headers=auth())).json()["items"]
    assert (listed["released"], listed["ticket_id"], listed["released_by"]) == (
        True,
        opened["ticket_id"],
        "tester",
    )


async def test_an_unreadable_message_is_released_as_a_ticket_for_the_requester_named(
    intake: httpx.AsyncClient,
) -> None:
    held = await post_mail(intake, b"\x00\x01 not a message at all, no sender")
    assert held.status_code == 202, held.text
    url = f"/v1/inbound/quarantine/{held.json()['quarantined']}/release"
    unnamed = await intake.post(url, json={}, headers=auth())
    named = await intake.post(url, json={"requester": "ann@acme.example"}, headers=auth())
    assert unnamed.status_code == 400, unnamed.text
    assert named.status_code == 201 and named.json()["action"] == "created", named.text
    ticket = (await intake.get(f"/v1/tickets/{named.json()['number']}", headers=auth())).json()
    assert ticket["requester"]["email"] == "ann@acme.example"
    assert "not a message at all" in ticket["messages"][0]["body"]


async def test_a_number_is_found_by_its_alias_and_one_a_crash_left_unused_is_skipped(
    intake: httpx.AsyncClient, isolated: Isolation
) -> None:
    first = (await post_mail(intake, email("ann@acme.example", "Fan noise", "Loud."))).json()
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(isolated.infra.mongodb_uri)
    try:
        db = client[f"{isolated.db_prefix}intake"]
        seq = int(first["number"].removeprefix("HD-"))
        assert await db[NUMBERS].find_one({"_id": str(seq)}) == {
            "_id": str(seq),
            "ticket_id": first["ticket_id"],
        }
        # a writer that died after taking the next number and writing its alias, before the
        # ticket: the alias names no ticket
        await db["counters"].update_one({"_id": "ticket_seq"}, {"$inc": {"n": 1}})
        await db[NUMBERS].insert_one({"_id": str(seq + 1), "ticket_id": "never-written"})
    finally:
        await client.close()
    by_alias = await intake.get(f"/v1/tickets/{first['number']}", headers=auth())
    assert by_alias.json()["id"] == first["ticket_id"]
    gap = await intake.get(f"/v1/tickets/HD-{seq + 1:06d}", headers=auth())
    assert gap.status_code == 404
    second = (await post_mail(intake, email("bo@acme.example", "Disk", "Full."))).json()
    assert second["number"] == f"HD-{seq + 2:06d}"
    listed = (await intake.get("/v1/tickets", headers=auth())).json()["items"]
    assert [t["number"] for t in listed] == [second["number"], first["number"]]
    reply = email("ann@acme.example", f"Re: [{first['number']}] Fan noise", "Louder now.")
    assert (await post_mail(intake, reply)).json() == {**first, "action": "appended"}


async def test_the_same_message_delivered_twice_is_taken_once(intake: httpx.AsyncClient) -> None:
    raw = email("ann@acme.example", "Login fails", "Error 500 at login.")
    first = (await post_mail(intake, raw)).json()
    again = await post_mail(intake, raw)
    assert again.status_code == 201 and again.json() == {**first, "action": "duplicate"}
    ticket = (await intake.get(f"/v1/tickets/{first['number']}", headers=auth())).json()
    assert len(ticket["messages"]) == 1
    assert len((await intake.get("/v1/tickets", headers=auth())).json()["items"]) == 1


def reusing(message_id: str, sender: str, subject: str, body: str, extra: str = "") -> bytes:
    """A message under a Message-ID given (a mailer that stamps the same one on everything)."""
    return (
        f"From: {sender}\r\nSubject: {subject}\r\nMessage-ID: <{message_id}>\r\n{extra}"
        f"Content-Type: text/plain; charset=utf-8\r\n\r\n{body}"
    ).encode()


async def test_a_different_message_under_a_reused_message_id_is_kept_and_flagged(
    intake: httpx.AsyncClient,
) -> None:
    first = (await post_mail(intake, reusing("1@scanner", "a@acme.example", "Scan", "A"))).json()
    other = await post_mail(intake, reusing("1@scanner", "b@acme.example", "Scan", "B"))
    assert other.status_code == 201
    assert other.json()["action"] == "created" and other.json()["message_id_reused"] is True
    assert other.json()["number"] != first["number"] and first["message_id_reused"] is False
    ticket = (await intake.get(f"/v1/tickets/{other.json()['number']}", headers=auth())).json()
    assert ticket["messages"][0]["message_id_reused"] is True
    # and the same message delivered again is still a duplicate, of its own ticket
    again = await post_mail(intake, reusing("1@scanner", "b@acme.example", "Scan", "B"))
    assert again.json() == {**other.json(), "action": "duplicate", "message_id_reused": False}


async def test_a_reply_reusing_a_message_id_joins_the_ticket_its_headers_name(
    intake: httpx.AsyncClient,
) -> None:
    one = (await post_mail(intake, reusing("x@tmpl", "ann@acme.example", "VPN", "Down"))).json()
    two = (await post_mail(intake, reusing("y@tmpl", "bo@acme.example", "Disk", "Full"))).json()
    reply = reusing("x@tmpl", "bo@acme.example", f"Re: [{two['number']}]", "Freed now.")
    answer = (await post_mail(intake, reply)).json()
    assert (answer["number"], answer["action"]) == (two["number"], "appended")
    assert answer["message_id_reused"] is True and one["number"] != two["number"]


async def test_a_message_without_a_message_id_posted_twice_is_one_ticket(
    intake: httpx.AsyncClient,
) -> None:
    raw = b"From: ann@acme.example\r\nSubject: No id\r\nDate: Mon, 7 Dec 2026 10:00:00 +0000"
    raw += b"\r\n\r\nOur mailer sets no Message-ID."
    first = (await post_mail(intake, raw)).json()
    again = (await post_mail(intake, raw)).json()
    assert again == {**first, "action": "duplicate"}
    edited = (await post_mail(intake, raw + b" Edited.")).json()
    assert edited["action"] == "created" and edited["number"] != first["number"]


async def test_a_held_message_delivered_again_is_the_same_held_message(
    intake: httpx.AsyncClient,
) -> None:
    raw = email("ann@acme.example", "Out of office: back Monday", "Away.")
    held = await post_mail(intake, raw)
    again = await post_mail(intake, raw)
    assert (held.status_code, again.status_code) == (202, 202)
    assert again.json()["quarantined"] == held.json()["quarantined"]
    page = (await intake.get("/v1/inbound/quarantine", headers=auth())).json()
    assert [item["id"] for item in page["items"]] == [held.json()["quarantined"]]


async def test_a_message_another_delivery_is_receiving_waits_until_that_one_ends(
    isolated: Isolation, intake: httpx.AsyncClient
) -> None:
    raw = email("ann@acme.example", "Twice at once", "Sent by two relays.")
    first = (await post_mail(intake, raw)).json()
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(isolated.infra.mongodb_uri)
    try:
        seen = client[f"{isolated.db_prefix}intake"][SEEN]
        unsettled = {"ticket_id": None, "quarantine_id": None}
        claim = await seen.find_one_and_update(
            {"_id": {"$regex": "^same:"}}, {"$set": {**unsettled, "at": datetime.now(UTC)}}
        )
        assert claim is not None  # as if another delivery had just claimed the message
        busy = await post_mail(intake, raw)
        assert busy.status_code == 409 and "being received" in busy.json()["detail"]
        lapsed = datetime.now(UTC) - SIGHTING_LEASE - timedelta(seconds=1)
        await seen.update_one({"_id": claim["_id"]}, {"$set": {"at": lapsed}})
        retried = (await post_mail(intake, raw)).json()  # that one was cut short: this goes on
        assert retried["action"] == "created" and retried["number"] != first["number"]
        assert (await post_mail(intake, raw)).json() == {**retried, "action": "duplicate"}
    finally:
        await client.close()


@pytest.fixture
async def strict_intake(
    isolated: Isolation, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[httpx.AsyncClient]:
    env = isolated.env(HELPDESK_STRANGER_MAIL="quarantine", HELPDESK_MAIL_STORM_LIMIT="3")
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    async with in_process(create_app(IntakeSettings())) as client:
        org = {"id": "acme", "name": "ACME", "email_domains": ["acme.example"]}
        assert (
            await client.post("/v1/organizations", json=org, headers=auth(["admin"]))
        ).status_code == 201
        yield client


async def test_a_stranger_can_be_held_for_review_instead(strict_intake: httpx.AsyncClient) -> None:
    first = (await post_mail(strict_intake, email("ann@acme.example", "Printer", "Jam"))).json()
    intrusion = email("mallory@evil.example", f"Re: [{first['number']}]", "Send me the logs")
    held = await post_mail(strict_intake, intrusion)
    assert held.status_code == 202
    assert held.json()["reason"] == (
        f"sender is not a participant of {first['number']} and the reply has no token"
    )
    released = await strict_intake.post(
        f"/v1/inbound/quarantine/{held.json()['quarantined']}/release", json={}, headers=auth()
    )
    assert released.json()["action"] == "created"  # let through: a new ticket, linked
    linked = await strict_intake.get(f"/v1/tickets/{released.json()['number']}", headers=auth())
    assert linked.json()["linked_ticket_id"] == first["ticket_id"]


async def test_a_sender_opening_tickets_in_a_storm_is_held_after_the_limit(
    strict_intake: httpx.AsyncClient,
) -> None:
    answers = [
        await post_mail(strict_intake, email("bot@acme.example", f"Alert {n}", "Disk at 91%"))
        for n in range(5)
    ]
    assert [a.status_code for a in answers] == [201, 201, 201, 202, 202]
    assert answers[3].json()["reason"] == (
        "mail storm: more than 3 new tickets from bot@acme.example within the hour"
    )
    first = answers[0].json()
    reply = email("bot@acme.example", f"Re: [{first['number']}] Alert 0", "Disk at 95%")
    assert (await post_mail(strict_intake, reply)).json()["action"] == "appended"  # not limited
