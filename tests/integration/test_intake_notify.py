"""Acknowledgements over real SMTP: sent with the number, recorded, retried, settled."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from email import message_from_bytes, policy
from typing import Any

import httpx
import pytest

from services.intake.app import IntakeSettings, create_app
from shared.events.problems import AdvisoryData, AdvisoryPublished, ReleaseData, ReleasePublished
from shared.events.sla import SlaBreached, SlaTargetData
from shared.events.triage import TicketResolved, TicketResolvedData
from shared.smtp_sink import MailSink, start
from tests.helpers import Isolation, TopicReader, auth, in_process, produce, wait_for

pytestmark = pytest.mark.integration
TICKET = {"subject": "Backup job failed", "requester": {"email": "ann@acme.example"}}


@asynccontextmanager
async def run_intake(
    isolated: Isolation, monkeypatch: pytest.MonkeyPatch, port: int, **env: str
) -> AsyncIterator[httpx.AsyncClient]:
    for key, value in isolated.env(HELPDESK_SMTP_PORT=str(port), **env).items():
        monkeypatch.setenv(key, value)
    async with in_process(create_app(IntakeSettings())) as client:
        yield client


async def test_the_requester_gets_an_acknowledgement_with_the_number_at_once(
    isolated: Isolation, monkeypatch: pytest.MonkeyPatch, mail_sink: tuple[MailSink, int]
) -> None:
    mail, port = mail_sink
    async with run_intake(isolated, monkeypatch, port) as intake:
        created = (await intake.post("/v1/tickets", json=TICKET, headers=auth())).json()

        async def delivered() -> list[Any] | None:
            notes = (
                await intake.get(f"/v1/notifications?ticket_id={created['id']}", headers=auth())
            ).json()["items"]
            return notes if notes and notes[0]["status"] == "sent" else None

        (note,) = await wait_for(delivered, within=30, what="the acknowledgement sent")
        (raw,) = mail.received
        ack = message_from_bytes(raw, policy=policy.default)
        assert created["number"] in str(ack["Subject"]) and created["number"] in ack.get_content()
        assert str(ack["To"]) == "ann@acme.example"
        assert str(ack["Auto-Submitted"]) == "auto-generated"
        assert str(ack["Message-ID"]).strip() == f"<{note['message_id']}>" and note["attempts"] == 1
        reply = (
            f"From: ann@acme.example\r\nSubject: Re: {ack['Subject']}\r\n"
            f"In-Reply-To: {ack['Message-ID']}\r\nContent-Type: text/plain\r\n\r\nLogs attached."
        ).encode()
        headers = {**auth(["service"]), "Content-Type": "message/rfc822"}
        threaded = await intake.post("/v1/inbound/email", content=reply, headers=headers)
        assert threaded.json()["action"] == "appended", threaded.text
    async with TopicReader(isolated.infra.kafka, isolated.topic("intake")) as reader:
        await reader.read_until(lambda rs: any(b"notification.sent" in r.value for r in rs))
    sent = reader.distinct_events(b"notification.sent")
    assert [(e.data.kind, e.data.recipient) for e in sent] == [
        ("acknowledgement", "ann@acme.example")
    ]


async def test_a_refusing_relay_is_retried_then_reported_as_failed(
    isolated: Isolation, monkeypatch: pytest.MonkeyPatch
) -> None:
    refusing = MailSink(refuse=True)
    controller = start(refusing)
    try:
        env = {"HELPDESK_NOTIFY_ATTEMPTS": "2", "HELPDESK_NOTIFY_BACKOFF_SECONDS": "0"}
        async with run_intake(isolated, monkeypatch, controller.port, **env) as intake:
            created = (await intake.post("/v1/tickets", json=TICKET, headers=auth())).json()

            async def given_up() -> list[Any] | None:
                url = f"/v1/notifications?ticket_id={created['id']}"
                notes = (await intake.get(url, headers=auth())).json()["items"]
                return notes if notes and notes[0]["status"] == "failed" else None

            (note,) = await wait_for(given_up, within=30, what="the notification given up")
    finally:
        controller.stop()
    assert note["attempts"] == 2 and "451" in note["last_error"]
    assert refusing.received == []
    async with TopicReader(isolated.infra.kafka, isolated.topic("intake")) as reader:
        await reader.read_until(lambda rs: any(b"notification.failed" in r.value for r in rs))


async def test_the_customer_hears_of_replies_resolution_reopening_and_breaches_in_their_language(
    isolated: Isolation, monkeypatch: pytest.MonkeyPatch, mail_sink: tuple[MailSink, int]
) -> None:
    mail, port = mail_sink
    russian = {"subject": "Не работает VPN", "requester": {"email": "ivan@acme.example"}}
    async with run_intake(isolated, monkeypatch, port) as intake:
        created = (await intake.post("/v1/tickets", json=russian, headers=auth())).json()
        ticket_id, number = created["id"], created["number"]
        url = f"/v1/tickets/{ticket_id}/messages"
        reply = {"body": "Перезапустите клиент, пожалуйста."}
        note = {"body": "internal: probably the cert", "visibility": "internal"}
        for body in (note, reply):
            assert (await intake.post(url, json=body, headers=auth())).status_code == 201
        now = datetime.now(UTC)
        resolved = TicketResolved.create(
            source="triage",
            subject=ticket_id,
            time=now,
            data=TicketResolvedData(
                ticket_id=ticket_id, number=number, resolution="Сертификат обновлён."
            ),
        )
        breached = SlaBreached.create(
            source="sla",
            subject=ticket_id,
            time=now,
            data=SlaTargetData(ticket_id=ticket_id, number=number, target="resolution"),
        )
        for topic, event in (("triage", resolved), ("triage", resolved), ("sla", breached)):
            await produce(isolated.infra.kafka, isolated.topic(topic), ticket_id, event.to_json())

        async def all_sent() -> list[Any] | None:
            url = f"/v1/notifications?ticket_id={ticket_id}"
            notes = (await intake.get(url, headers=auth())).json()["items"]
            done = [n for n in notes if n["status"] == "sent"]
            return done if len(done) >= 4 else None

        notes = await wait_for(all_sent, within=30, what="four notices sent")
    assert sorted(n["kind"] for n in notes) == [
        "acknowledgement",
        "reply",
        "resolved",
        "sla_breach",
    ]  # the internal note is not mailed, the redelivered resolution is mailed once
    assert {n["language"] for n in notes} == {"ru"}
    received = [message_from_bytes(raw, policy=policy.default) for raw in mail.received]
    assert len(received) == 4
    bodies = {str(m["X-Switchboard-Notification"]): m.get_content() for m in received}
    assert "Перезапустите клиент" in bodies["reply"]
    assert "Сертификат обновлён." in bodies["resolved"] and "закрыть" in bodies["resolved"]
    assert "решения" in bodies["sla_breach"]
    ack = next(m for m in received if str(m["X-Switchboard-Notification"]) == "acknowledgement")
    for later in received:
        if later is not ack:
            assert str(later["In-Reply-To"]) == str(
                ack["Message-ID"]
            )  # one thread in the mail client
            assert number in str(later["Subject"])


async def test_an_advisory_reaches_every_contact_of_the_customers_addressed_once(
    isolated: Isolation, monkeypatch: pytest.MonkeyPatch, mail_sink: tuple[MailSink, int]
) -> None:
    mail, port = mail_sink
    orgs = [
        {
            "id": "acme",
            "name": "ACME",
            "email_domains": ["acme.example"],
            "contacts": [
                {"email": "ops@acme.example", "name": "Ops desk"},
                {"email": "Eva@Acme.example", "name": "Eva", "language": "sv"},
                {"email": "ceo@acme.example", "advisories": False},
            ],
        },
        {"id": "globex", "name": "Globex", "contacts": [{"email": "it@globex.example"}]},
    ]
    advisory = AdvisoryPublished.create(
        source="problems",
        subject="adv-7",
        time=datetime.now(UTC),
        data=AdvisoryData(
            advisory_id="adv-7",
            title="Database upgrade",
            kind="maintenance",
            organization_ids=["acme"],
            body="We upgrade the replicated cluster to 14.2.",
            products=["Switchboard DB"],
            starts_at=datetime(2027, 3, 7, 22, 0, tzinfo=UTC),
            ends_at=datetime(2027, 3, 8, 2, 0, tzinfo=UTC),
        ),
    )
    async with run_intake(isolated, monkeypatch, port) as intake:
        for org in orgs:
            added = await intake.post("/v1/organizations", json=org, headers=auth(["admin"]))
            assert added.status_code == 201, added.text
        for _ in range(2):  # a redelivery sends nothing twice
            await produce(
                isolated.infra.kafka, isolated.topic("problems"), "adv-7", advisory.to_json()
            )

        async def all_sent() -> list[Any] | None:
            notes = (
                await intake.get("/v1/notifications?advisory_id=adv-7", headers=auth())
            ).json()["items"]
            return notes if len(notes) == 2 and all(n["status"] == "sent" for n in notes) else None

        notes = await wait_for(all_sent, within=30, what="the advisory sent to both contacts")
        neither = await intake.get("/v1/notifications", headers=auth())
    assert neither.status_code == 400
    assert sorted((n["recipient"], n["language"]) for n in notes) == [
        ("eva@acme.example", "sv"),
        ("ops@acme.example", "en"),
    ]
    received = [message_from_bytes(raw, policy=policy.default) for raw in mail.received]
    assert sorted(str(m["Subject"]) for m in received) == [
        "Planerat underhåll: Database upgrade",
        "Planned maintenance: Database upgrade",
    ]
    assert all("2027-03-07 22:00" in m.get_content() for m in received)


async def test_an_advisory_for_a_product_or_site_reaches_only_the_customers_covering_it(
    isolated: Isolation, monkeypatch: pytest.MonkeyPatch, mail_sink: tuple[MailSink, int]
) -> None:
    mail, port = mail_sink
    admin = auth(["admin"])
    orgs = [
        {"id": "acme", "name": "ACME", "contacts": [{"email": "ops@acme.example"}]},
        {"id": "globex", "name": "Globex", "contacts": [{"email": "it@globex.example"}]},
        {"id": "initech", "name": "Initech", "contacts": [{"email": "it@initech.example"}]},
    ]
    contracts = [
        {
            "id": "acme-1",
            "organization_id": "acme",
            "number": "C-1",
            "service_level": "gold",
            "valid_from": "2026-01-01",
            "valid_to": "2027-12-31",
            "assets": [{"id": "srv-1", "name": "Billing server", "product": "Billing 7.3"}],
        },
        {
            "id": "globex-1",
            "organization_id": "globex",
            "number": "C-2",
            "service_level": "silver",
            "valid_from": "2026-01-01",
            "valid_to": "2027-12-31",
            "sites": [{"id": "plant-b", "name": "Plant B"}],
            "assets": [{"id": "crm-1", "name": "CRM", "product": "CRM 2", "site_id": "plant-b"}],
        },
    ]

    def notice(advisory_id: str, **audience: Any) -> bytes:
        return AdvisoryPublished.create(
            source="problems",
            subject=advisory_id,
            time=datetime.now(UTC),
            data=AdvisoryData(advisory_id=advisory_id, title=advisory_id, **audience),
        ).to_json()

    async with run_intake(isolated, monkeypatch, port) as intake:
        for org in orgs:
            assert (await intake.post("/v1/organizations", json=org, headers=admin)).is_success
        for contract in contracts:
            added = await intake.post("/v1/contracts", json=contract, headers=admin)
            assert added.status_code == 201, added.text
        topic = isolated.topic("problems")
        await produce(isolated.infra.kafka, topic, "a", notice("billing", products=["Billing"]))
        await produce(isolated.infra.kafka, topic, "b", notice("plant", sites=["plant-b"]))
        await produce(isolated.infra.kafka, topic, "c", notice("all", everyone=True))

        async def sent(advisory_id: str, count: int) -> list[Any] | None:
            path = f"/v1/notifications?advisory_id={advisory_id}"
            notes = (await intake.get(path, headers=auth())).json()["items"]
            return (
                notes if len(notes) == count and all(n["status"] == "sent" for n in notes) else None
            )

        billing = await wait_for(lambda: sent("billing", 1), what="the Billing notice")
        plant = await wait_for(lambda: sent("plant", 1), what="the Plant B notice")
        everyone = await wait_for(lambda: sent("all", 3), what="the notice to everyone")
    assert [n["recipient"] for n in billing] == ["ops@acme.example"]
    assert [n["recipient"] for n in plant] == ["it@globex.example"]
    assert sorted(n["recipient"] for n in everyone) == [
        "it@globex.example",
        "it@initech.example",
        "ops@acme.example",
    ]
    assert len(mail.received) == 5


async def test_a_published_release_tells_the_requesters_of_the_tickets_waiting_for_it(
    isolated: Isolation, monkeypatch: pytest.MonkeyPatch, mail_sink: tuple[MailSink, int]
) -> None:
    mail, port = mail_sink
    async with run_intake(isolated, monkeypatch, port) as intake:
        waiting = (await intake.post("/v1/tickets", json=TICKET, headers=auth())).json()
        release = ReleasePublished.create(
            source="problems",
            subject="7.4",
            time=datetime.now(UTC),
            data=ReleaseData(
                release_id="7.4",
                version="7.4",
                product="Billing",
                ticket_ids=[waiting["id"]],
                organization_ids=["acme"],
            ),
        )
        for _ in range(2):  # a redelivery sends nothing twice
            await produce(
                isolated.infra.kafka, isolated.topic("problems"), "7.4", release.to_json()
            )

        async def told() -> list[Any] | None:
            path = f"/v1/notifications?ticket_id={waiting['id']}"
            notes = (await intake.get(path, headers=auth())).json()["items"]
            fixes = [n for n in notes if n["kind"] == "fix_released" and n["status"] == "sent"]
            return fixes or None

        (note,) = await wait_for(told, what="the release notice sent")
    subjects = [str(message_from_bytes(r, policy=policy.default)["Subject"]) for r in mail.received]
    assert f"[{waiting['number']}] Fixed in 7.4: Backup job failed" in subjects
    assert note["recipient"] == "ann@acme.example"
