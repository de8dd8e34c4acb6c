"""Mail handed to intake over SMTP: stored before the 250, numbered, threaded, size-limited."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from email.message import EmailMessage

import aiosmtplib
import httpx
import pytest

from services.intake.app import IntakeSettings, create_app
from shared.smtp_sink import MailSink, free_port, start
from tests.helpers import Isolation, auth, in_process

pytestmark = pytest.mark.integration


@asynccontextmanager
async def intake_listening(
    isolated: Isolation, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[httpx.AsyncClient, int]]:
    listen = free_port()
    sink = start(MailSink())  # the acknowledgements go here
    env = isolated.env(
        HELPDESK_SMTP_LISTEN_PORT=str(listen),
        HELPDESK_SMTP_PORT=str(sink.port),
        HELPDESK_MAX_MAIL_BYTES="65536",
    )
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    try:
        async with in_process(create_app(IntakeSettings())) as client:
            yield client, listen
    finally:
        sink.stop()


def mail(subject: str, body: str, sender: str = "ann@acme.example") -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "support@helpdesk.switchboard.example"
    msg["Subject"] = subject
    msg.set_content(body)
    return msg


async def test_a_message_sent_over_smtp_becomes_a_ticket_and_a_reply_joins_it(
    isolated: Isolation, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with intake_listening(isolated, monkeypatch) as (intake, port):
        _, answer = await aiosmtplib.send(
            mail("Printer offline", "The printer on floor 3 is offline."),
            hostname="127.0.0.1",
            port=port,
        )
        assert answer.startswith("2.0.0 created as HD-"), answer
        number = answer.rsplit(" ", 1)[-1]
        _, again = await aiosmtplib.send(
            mail(f"Re: [{number}] Printer offline", "It is back after a restart."),
            hostname="127.0.0.1",
            port=port,
        )
        assert again == f"2.0.0 appended as {number}"
        ticket = (await intake.get(f"/v1/tickets/{number}", headers=auth())).json()
    assert ticket["channel"] == "email"
    assert [m["body"].strip() for m in ticket["messages"]] == [
        "The printer on floor 3 is offline.",
        "It is back after a restart.",
    ]


async def test_smtp_holds_an_oversized_message_and_refuses_a_giant_one_so_the_sender_is_told(
    isolated: Isolation, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with intake_listening(isolated, monkeypatch) as (intake, port):
        _, held = await aiosmtplib.send(
            mail("Big log", "x" * 100_000), hostname="127.0.0.1", port=port
        )
        with pytest.raises(aiosmtplib.SMTPResponseException) as refused:
            await aiosmtplib.send(mail("Huge log", "x" * 300_000), hostname="127.0.0.1", port=port)
        listed = (await intake.get("/v1/tickets", headers=auth())).json()
        quarantine = (await intake.get("/v1/inbound/quarantine", headers=auth())).json()
    assert held.startswith("2.0.0 held for review (oversized (")
    assert [i["subject"] for i in quarantine["items"]] == ["Big log"]
    assert refused.value.code == 552
    assert listed["items"] == []
