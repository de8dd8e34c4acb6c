"""Replies prove themselves: our notices carry a reply token over real SMTP, a reply with it
joins its ticket, and a reply naming the ticket only by number must come from a participant
whose mail the receiving server did not find forged."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from email import message_from_bytes, policy
from email.message import EmailMessage

import aiosmtplib
import httpx
import pytest

from services.intake.app import IntakeSettings, create_app
from services.intake.domain.notify import OUTBOUND
from shared.smtp_sink import MailSink, free_port
from tests.helpers import Isolation, auth, in_process, wait_for

pytestmark = pytest.mark.integration
GATEWAY = {**auth(["service"], sub="mail-gateway"), "Content-Type": "message/rfc822"}
OUR_MX = "mx.helpdesk.switchboard.example"
SUPPORT = "support@helpdesk.switchboard.example"


@asynccontextmanager
async def intake_with_tokens(
    isolated: Isolation, monkeypatch: pytest.MonkeyPatch, relay: int
) -> AsyncIterator[tuple[httpx.AsyncClient, int]]:
    listen = free_port()
    env = isolated.env(
        HELPDESK_SMTP_PORT=str(relay),
        HELPDESK_SMTP_LISTEN_PORT=str(listen),
        HELPDESK_REPLY_TOKEN_SECRET="the tests' reply-token secret",
    )
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    async with in_process(create_app(IntakeSettings())) as client:
        for org in (
            {"id": "acme", "email_domains": ["acme.example"]},
            {"id": "globex", "email_domains": ["globex.example"]},
        ):
            made = await client.post(
                "/v1/organizations", json={**org, "name": org["id"]}, headers=auth(["admin"])
            )
            assert made.status_code == 201, made.text
        yield client, listen


def mail(sender: str, subject: str, body: str, **headers: str) -> EmailMessage:
    msg = EmailMessage(policy=OUTBOUND)  # a mail client writes In-Reply-To whole, as we do
    msg["From"] = sender
    msg["To"] = headers.pop("To", SUPPORT)
    msg["Subject"] = subject
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(body)
    return msg


async def post(intake: httpx.AsyncClient, msg: EmailMessage) -> dict[str, str]:
    answer = await intake.post("/v1/inbound/email", content=msg.as_bytes(), headers=GATEWAY)
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


async def acknowledged(
    intake: httpx.AsyncClient, sink: MailSink, msg: EmailMessage
) -> tuple[str, EmailMessage]:
    """A new ticket by mail, and the acknowledgement our mailer sent for it."""
    number = (await post(intake, msg))["number"]

    async def sent() -> EmailMessage | None:
        for raw in sink.received:
            ack = message_from_bytes(raw, policy=policy.default)
            if number in str(ack["Subject"]):
                assert isinstance(ack, EmailMessage)
                return ack
        return None

    return number, await wait_for(sent, within=30, what="the acknowledgement")


async def messages_on(intake: httpx.AsyncClient, number: str) -> list[str]:
    ticket = (await intake.get(f"/v1/tickets/{number}", headers=auth())).json()
    return [m["body"] for m in ticket["messages"]]


async def test_a_notice_carries_the_token_and_a_reply_with_it_joins_whoever_sends_it(
    isolated: Isolation, monkeypatch: pytest.MonkeyPatch, mail_sink: tuple[MailSink, int]
) -> None:
    sink, relay = mail_sink
    async with intake_with_tokens(isolated, monkeypatch, relay) as (intake, listen):
        number, ack = await acknowledged(intake, sink, mail("ann@acme.example", "VPN", "Down."))
        reply_to, message_id = str(ack["Reply-To"]), str(ack["Message-ID"])
        token = reply_to.split("+", 1)[1].split("@", 1)[0]
        assert token.startswith(f"hd{int(number[3:])}-") and f".{token}@" in message_id
        # a colleague answering the forwarded notice: no number, a sender the ticket never saw
        by_address = mail("carl@acme.example", "Re: your request", "Same for me.", To=reply_to)
        assert (await post(intake, by_address))["action"] == "appended"
        # a client that keeps only the thread's Message-IDs
        threaded = mail("ann.private@home.example", "Re:", "From home.", In_Reply_To=message_id)
        assert (await post(intake, threaded))["action"] == "appended"
        # over SMTP, the token may be only in the envelope (a Bcc, an alias that rewrote To)
        envelope = mail("dana@acme.example", "More", "Also Dana.")
        _, answer = await aiosmtplib.send(
            envelope,
            recipients=[reply_to.strip("<>").split("<")[-1]],
            hostname="127.0.0.1",
            port=listen,
        )
        assert answer == f"2.0.0 appended as {number}", answer
        assert await messages_on(intake, number) == [
            "Down.",
            "Same for me.",
            "From home.",
            "Also Dana.",
        ]


async def test_a_forged_sender_or_token_opens_a_new_linked_ticket_and_writes_nothing_in(
    isolated: Isolation, monkeypatch: pytest.MonkeyPatch, mail_sink: tuple[MailSink, int]
) -> None:
    sink, relay = mail_sink
    async with intake_with_tokens(isolated, monkeypatch, relay) as (intake, _):
        number, _ = await acknowledged(intake, sink, mail("ann@acme.example", "Build", "Red."))
        seq = int(number[3:])
        forged_token = f"support+hd{seq}-{'0' * 20}@helpdesk.switchboard.example"
        attempts = [
            mail("bob@globex.example", f"Re: [{number}]", "Mine now."),  # another customer
            mail("carl@acme.example", f"Re: [{number}]", "A colleague, no token."),
            mail("eve@evil.example", "Re: Build", "Guessed.", To=forged_token),
            mail(  # the requester's address, but the receiving server found it forged
                "ann@acme.example",
                f"Re: [{number}]",
                "Spoofed.",
                Authentication_Results=f"{OUR_MX}; spf=fail smtp.mailfrom=ann@acme.example; "
                "dkim=none; dmarc=fail header.from=acme.example",
            ),
        ]
        for attempt in attempts:
            answer = await post(intake, attempt)
            assert answer["action"] == "created" and answer["number"] != number, answer
        assert await messages_on(intake, number) == ["Red."]


async def test_a_participant_naming_the_number_joins_unless_the_server_found_it_forged(
    isolated: Isolation, monkeypatch: pytest.MonkeyPatch, mail_sink: tuple[MailSink, int]
) -> None:
    sink, relay = mail_sink
    async with intake_with_tokens(isolated, monkeypatch, relay) as (intake, _):
        number, _ = await acknowledged(intake, sink, mail("ann@acme.example", "Disk", "Full."))
        subject = f"Re: [{number}] Disk"
        unrecorded = mail("ann@acme.example", subject, "No results recorded.")
        signed = mail(
            "ann@acme.example",
            subject,
            "Signed.",
            Authentication_Results=f"{OUR_MX}; dkim=pass header.d=acme.example; spf=softfail",
        )
        claimed = mail(  # a "fail" written by the sender's side, not by our receiving server
            "ann@acme.example",
            subject,
            "Their own header.",
            Authentication_Results="relay.acme.example; spf=fail smtp.mailfrom=acme.example",
        )
        for reply in (unrecorded, signed, claimed):
            assert (await post(intake, reply))["action"] == "appended"
        assert await messages_on(intake, number) == [
            "Full.",
            "No results recorded.",
            "Signed.",
            "Their own header.",
        ]
