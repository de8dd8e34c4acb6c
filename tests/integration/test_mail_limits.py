"""Hostile mail on intake's HTTP gateway and SMTP listener, on FerretDB and Kafka: MIME nested
too deep or with too many parts, and input the standard library's parser fails on, is held in
quarantine with its reason and answered as held (202, SMTP 250), never a 5xx or an endless 451.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiosmtplib
import httpx
import pytest

from services.intake.app import IntakeSettings, create_app
from services.intake.service import inbound
from shared.smtp_sink import MailSink, free_port, start
from tests.helpers import Isolation, auth, in_process

pytestmark = pytest.mark.integration
GATEWAY = {**auth(["service"], sub="mail-gateway"), "Content-Type": "message/rfc822"}
SENDER = "ann@acme.example"


@dataclass
class Intake:
    http: httpx.AsyncClient
    smtp_port: int

    async def post(self, raw: bytes) -> httpx.Response:
        return await self.http.post("/v1/inbound/email", content=raw, headers=GATEWAY)

    async def send(self, raw: bytes) -> str:
        _, answer = await aiosmtplib.send(
            raw,
            sender=SENDER,
            recipients=["support@helpdesk.switchboard.example"],
            hostname="127.0.0.1",
            port=self.smtp_port,
        )
        return answer

    async def quarantine(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = (
            await self.http.get("/v1/inbound/quarantine", headers=auth())
        ).json()["items"]
        return items

    async def tickets(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = (await self.http.get("/v1/tickets", headers=auth())).json()[
            "items"
        ]
        return items


@pytest.fixture
async def intake(isolated: Isolation, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Intake]:
    listen = free_port()
    sink = start(MailSink())  # the acknowledgements go here
    env = isolated.env(
        HELPDESK_SMTP_LISTEN_PORT=str(listen),
        HELPDESK_SMTP_PORT=str(sink.port),
        HELPDESK_MAX_MIME_PARTS="50",
    )
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    try:
        async with in_process(create_app(IntakeSettings())) as client:
            yield Intake(client, listen)
    finally:
        sink.stop()


def mail(body: str, ctype: str = "text/plain; charset=utf-8", sender: str = SENDER) -> bytes:
    return (
        f"From: {sender}\r\nTo: support@helpdesk.switchboard.example\r\nSubject: hostile\r\n"
        f"MIME-Version: 1.0\r\nContent-Type: {ctype}\r\n\r\n{body}"
    ).encode()


def nested(depth: int) -> bytes:
    opening = "".join(
        f"--b{level}\r\nContent-Type: multipart/mixed; boundary=b{level + 1}\r\n\r\n"
        for level in range(depth - 1)
    )
    closing = "".join(f"--b{level}--\r\n" for level in reversed(range(depth)))
    body = f"{opening}--b{depth - 1}\r\nContent-Type: text/plain\r\n\r\nbottom\r\n{closing}"
    return mail(body, "multipart/mixed; boundary=b0")


def parts(count: int) -> bytes:
    body = "".join(f"--b\r\nContent-Type: text/plain\r\n\r\npart {n}\r\n" for n in range(count))
    return mail(body + "--b--\r\n", "multipart/mixed; boundary=b")


DEEP = "MIME parts nested deeper than 20 levels"


async def test_mime_nested_1200_deep_is_held_with_its_reason_not_a_500(intake: Intake) -> None:
    raw = nested(1_200)
    answer = await intake.post(raw)
    assert answer.status_code == 202, answer.text
    assert answer.json()["reason"] == DEEP
    (held,) = await intake.quarantine()
    assert (held["id"], held["reason"], held["sender"], held["subject"], held["size"]) == (
        answer.json()["quarantined"],
        DEEP,
        SENDER,
        "hostile",
        len(raw),
    )
    assert await intake.tickets() == []


async def test_smtp_answers_250_held_for_deep_mime_so_the_sender_stops_retrying(
    intake: Intake,
) -> None:
    answer = await intake.send(nested(1_200))
    assert answer == f"2.0.0 held for review ({DEEP})"
    assert [i["reason"] for i in await intake.quarantine()] == [DEEP]


async def test_more_parts_than_configured_are_held_and_fewer_make_a_ticket(
    intake: Intake,
) -> None:
    held = await intake.post(parts(60))
    taken = await intake.send(parts(40))
    assert held.status_code == 202 and held.json()["reason"] == "more than 50 MIME parts"
    assert taken.startswith("2.0.0 created as HD-"), taken
    (ticket,) = await intake.tickets()
    body = (await intake.http.get(f"/v1/tickets/{ticket['number']}", headers=auth())).json()
    assert body["messages"][0]["body"].split("\n\n")[:2] == ["part 0", "part 1"]


async def test_input_the_parser_fails_on_is_held_or_taken_never_a_5xx(intake: Intake) -> None:
    recursing = b"From: " + b"(" * 3_000 + SENDER.encode() + b")" * 3_000 + b"\r\n\r\nhi"
    deep = await intake.post(recursing)
    long_ref = await intake.post(mail("x&#" + "9" * 5_000 + ";y", "text/html; charset=utf-8"))
    long_name = await intake.send(mail("Printer jammed", sender=f"{'N' * 500} <{SENDER}>"))
    frozen = await intake.post(mail("<script\r\n" * 8_000, "text/html; charset=utf-8"))
    assert deep.status_code == 202, deep.text
    assert deep.json()["reason"] == "structure nested too deeply to read"
    assert long_ref.status_code == 201, long_ref.text
    assert long_name.startswith("2.0.0 created as HD-"), long_name
    assert frozen.status_code == 201, frozen.text
    numbers = {long_ref.json()["number"]: "x\ufffdy", long_name.rsplit(" ", 1)[-1]: None}
    for number, text in numbers.items():
        ticket = (await intake.http.get(f"/v1/tickets/{number}", headers=auth())).json()
        if text is not None:
            assert ticket["messages"][0]["body"] == text
        else:
            assert ticket["requester"]["name"] == "N" * 200


async def test_parsing_runs_in_a_worker_thread_not_on_the_event_loop(
    intake: Intake, monkeypatch: pytest.MonkeyPatch
) -> None:
    threads: list[int] = []
    parse = inbound.parse_mail

    def recording(raw: bytes, **limits: int) -> Any:
        threads.append(threading.get_ident())
        return parse(raw, **limits)

    monkeypatch.setattr(inbound, "parse_mail", recording)
    assert (await intake.post(mail("Disk full"))).status_code == 201
    assert threads and threading.get_ident() not in threads
