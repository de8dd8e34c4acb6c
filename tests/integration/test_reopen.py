"""Intake and triage together: the life cycle seen from the customer's side, on real Kafka,
FerretDB and SMTP: a reply to a closed ticket reopens it and the customer is told."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from services.intake.app import IntakeSettings
from services.intake.app import create_app as create_intake
from services.triage.app import TriageSettings
from services.triage.app import create_app as create_triage
from shared.smtp_sink import MailSink
from tests.helpers import Isolation, TopicReader, auth, in_process, wait_for

pytestmark = pytest.mark.integration
GATEWAY = {**auth(["service"], sub="mail-gateway"), "Content-Type": "message/rfc822"}
ANN = auth(["customer"], org="acme", sub="ann")


@asynccontextmanager
async def helpdesk(
    isolated: Isolation, monkeypatch: pytest.MonkeyPatch, smtp_port: int
) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
    for key, value in isolated.env(HELPDESK_SMTP_PORT=str(smtp_port)).items():
        monkeypatch.setenv(key, value)
    async with (
        in_process(create_intake(IntakeSettings())) as intake,
        in_process(create_triage(TriageSettings())) as triage,
    ):
        org = {"id": "acme", "name": "ACME", "email_domains": ["acme.example"]}
        assert (
            await intake.post("/v1/organizations", json=org, headers=auth(["admin"]))
        ).status_code == 201
        yield intake, triage


def reply(subject: str, body: str) -> bytes:
    return (
        f"From: Ann <ann@acme.example>\r\nTo: support@helpdesk.switchboard.example\r\n"
        f"Subject: {subject}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}"
    ).encode()


def status_is(
    client: httpx.AsyncClient, path: str, wanted: str
) -> Callable[[], Awaitable[dict[str, Any] | None]]:
    async def probe() -> dict[str, Any] | None:
        response = await client.get(path, headers=auth())
        body: dict[str, Any] = response.json()
        return body if response.status_code == 200 and body.get("status") == wanted else None

    return probe


async def test_a_reply_to_a_closed_ticket_reopens_it_and_the_customer_is_told(
    isolated: Isolation, monkeypatch: pytest.MonkeyPatch, mail_sink: tuple[MailSink, int]
) -> None:
    sink, port = mail_sink
    async with helpdesk(isolated, monkeypatch, port) as (intake, triage):
        first = await intake.post(
            "/v1/inbound/email", content=reply("Backup failed", "Job 7 failed."), headers=GATEWAY
        )
        assert first.status_code == 201, first.text
        ticket_id, number = first.json()["ticket_id"], first.json()["number"]
        item = f"/v1/work-items/{ticket_id}"
        await wait_for(status_is(triage, item, "open"), what="the ticket triaged")
        await wait_for(status_is(intake, f"/v1/tickets/{number}", "open"), what="intake told")

        resolved = await triage.post(
            f"{item}/resolve", json={"resolution": "Disk freed, job re-run"}, headers=auth()
        )
        closed = await triage.post(f"{item}/close", json={}, headers=auth())
        again = await triage.post(f"{item}/close", json={}, headers=auth())
        assert (resolved.status_code, closed.status_code) == (200, 200), closed.text
        assert again.status_code == 409 and again.json()["detail"].endswith("['reopened']")
        await wait_for(status_is(intake, f"/v1/tickets/{number}", "closed"), what="closed")

        answer = await intake.post(
            "/v1/inbound/email",
            content=reply(f"Re: [{number}] Backup failed", "It failed again tonight."),
            headers=GATEWAY,
        )
        assert answer.status_code == 201 and answer.json() == {
            "ticket_id": ticket_id,
            "number": number,
            "action": "reopened",
            "message_id_reused": False,
        }
        reopened = await wait_for(status_is(triage, item, "reopened"), what="reopened")
        seen = await wait_for(
            status_is(intake, f"/v1/tickets/{number}", "reopened"), what="intake told"
        )
        listed = await intake.get("/v1/tickets?status=reopened", headers=ANN)

        async def told() -> list[str] | None:
            notes = await intake.get(f"/v1/notifications?ticket_id={ticket_id}", headers=auth())
            kinds = [n["kind"] for n in notes.json()["items"] if n["status"] == "sent"]
            return kinds if {"resolved", "reopened"} <= set(kinds) else None

        kinds = await wait_for(told, within=30, what="the resolved and reopened notices sent")
    assert reopened["reopen_count"] == 1
    assert [h["what"] for h in reopened["history"]][1:] == [
        "open -> resolved",
        "resolved -> closed",
        "closed -> reopened",
    ]
    assert [m["body"] for m in seen["messages"]][-1] == "It failed again tonight."
    assert [t["number"] for t in listed.json()["items"]] == [number]
    assert sorted(kinds) == ["acknowledgement", "reopened", "resolved"]
    subjects = [m.split(b"\r\nSubject: ", 1)[1].split(b"\r\n", 1)[0] for m in sink.received]
    assert all(number.encode() in s for s in subjects) and len(subjects) == 3


async def test_a_reply_while_we_wait_for_the_customer_puts_the_ticket_back_in_progress(
    isolated: Isolation, monkeypatch: pytest.MonkeyPatch, mail_sink: tuple[MailSink, int]
) -> None:
    async with helpdesk(isolated, monkeypatch, mail_sink[1]) as (intake, triage):
        created = (
            await intake.post("/v1/tickets", json={"subject": "Which port?"}, headers=ANN)
        ).json()
        item = f"/v1/work-items/{created['id']}"
        await wait_for(status_is(triage, item, "open"), what="the ticket triaged")
        for status in ("assigned", "in_progress", "pending_customer"):
            moved = await triage.post(
                f"{item}/status",
                json={"status": status, "reason": "asked for logs"},
                headers=auth(),
            )
            assert moved.status_code == 200, moved.text
        skip = await triage.post(f"{item}/status", json={"status": "closed"}, headers=auth())
        assert skip.status_code == 400
        answered = await intake.post(
            f"/v1/tickets/{created['id']}/messages", json={"body": "Port 8443"}, headers=ANN
        )
        assert answered.status_code == 201
        back = await wait_for(status_is(triage, item, "in_progress"), what="back in progress")
    assert back["reopen_count"] == 0 and back["history"][-1]["what"] == (
        "pending_customer -> in_progress"
    )


async def test_a_ticket_resolved_on_first_contact_is_recorded_resolved(
    isolated: Isolation, monkeypatch: pytest.MonkeyPatch, mail_sink: tuple[MailSink, int]
) -> None:
    call = {
        "subject": "How do I reset my password?",
        "channel": "phone",
        "requester": {"email": "ann@acme.example"},
        "resolved_on_contact": True,
        "resolution": "Explained the self-service reset page.",
    }
    async with helpdesk(isolated, monkeypatch, mail_sink[1]) as (intake, triage):
        created = (await intake.post("/v1/tickets", json=call, headers=auth())).json()
        item = await wait_for(
            status_is(triage, f"/v1/work-items/{created['id']}", "resolved"), what="resolved"
        )
    assert item["first_contact"] and item["resolution"]["resolution"] == call["resolution"]
    async with TopicReader(isolated.infra.kafka, isolated.topic("triage")) as reader:
        await reader.read_until(lambda rs: any(b"ticket.resolved" in r.value for r in rs))
    (resolved,) = reader.distinct_events(b"ticket.resolved")
    assert resolved.data.first_contact and resolved.data.resolution == call["resolution"]


async def resolved_ticket(intake: httpx.AsyncClient, triage: httpx.AsyncClient) -> tuple[str, str]:
    """A ticket opened by mail and resolved by an agent, intake told: (id, number)."""
    first = await intake.post(
        "/v1/inbound/email", content=reply("VPN drops", "Every hour."), headers=GATEWAY
    )
    ticket_id, number = first.json()["ticket_id"], first.json()["number"]
    item = f"/v1/work-items/{ticket_id}"
    await wait_for(status_is(triage, item, "open"), what="the ticket triaged")
    early = await intake.post(
        f"/v1/tickets/{number}/feedback",
        json={"rating": 5, "confirms_resolution": True},
        headers=ANN,
    )
    assert early.status_code == 409 and "only a resolved ticket" in early.json()["detail"]
    resolved = await triage.post(
        f"{item}/resolve", json={"resolution": "New client"}, headers=auth()
    )
    assert resolved.status_code == 200, resolved.text
    await wait_for(status_is(intake, f"/v1/tickets/{number}", "resolved"), what="intake told")
    return ticket_id, number


@pytest.mark.parametrize(
    "answer", ["Tak, dziękuję, można zamknąć", "Yes, close it", "Да, можно закрыть\n\n> quoted"]
)
async def test_a_customer_confirming_by_mail_closes_the_ticket(
    isolated: Isolation,
    monkeypatch: pytest.MonkeyPatch,
    mail_sink: tuple[MailSink, int],
    answer: str,
) -> None:
    _, port = mail_sink
    async with helpdesk(isolated, monkeypatch, port) as (intake, triage):
        ticket_id, number = await resolved_ticket(intake, triage)
        confirmed = await intake.post(
            "/v1/inbound/email", content=reply(f"Re: [{number}] VPN drops", answer), headers=GATEWAY
        )
        assert confirmed.json()["action"] == "confirmed", confirmed.text
        closed = await wait_for(
            status_is(triage, f"/v1/work-items/{ticket_id}", "closed"), what="closed"
        )
        assert closed["history"][-1]["reason"] == "confirmed by the customer (email)"


async def test_an_unclear_answer_keeps_the_ticket_resolved_and_alerts_its_agent(
    isolated: Isolation, monkeypatch: pytest.MonkeyPatch, mail_sink: tuple[MailSink, int]
) -> None:
    _, port = mail_sink
    async with helpdesk(isolated, monkeypatch, port) as (intake, triage):
        ticket_id, number = await resolved_ticket(intake, triage)
        item = (await triage.get(f"/v1/work-items/{ticket_id}", headers=auth())).json()
        assert item["assignee"] is None  # nobody to assign here: the queue's people hear of it
        tom = {
            "id": "tom",
            "name": "Tom",
            "email": "tom@helpdesk.example",
            "tier": 1,
            "queues": [item["queue"]],
        }
        assert (
            await triage.post("/v1/agents", json=tom, headers=auth(["admin"]))
        ).status_code == 201
        thanks = await intake.post(
            "/v1/inbound/email", content=reply(f"Re: [{number}]", "Thanks!"), headers=GATEWAY
        )
        assert thanks.json()["action"] == "appended", thanks.text

        async def alerted() -> list[Any] | None:
            page = await triage.get("/v1/agents/tom/alerts", headers=auth())
            return [a for a in page.json()["items"] if a["ticket_id"] == ticket_id] or None

        (alert, *_) = await wait_for(alerted, what="the agent alerted")
        assert "unclearly" in alert["what"]
        still = (await triage.get(f"/v1/work-items/{ticket_id}", headers=auth())).json()
        assert still["status"] == "resolved"
