"""Files that come with e-mail, the originals kept whole, and messages too big to take in."""

from __future__ import annotations

import base64
import os
from collections.abc import AsyncIterator
from email.message import EmailMessage
from email.policy import SMTP
from typing import Any

import httpx
import pytest

from services.intake.app import IntakeSettings, create_app
from tests.helpers import Isolation, auth, in_process

pytestmark = pytest.mark.integration
GATEWAY = {**auth(["service"], sub="mail-gateway"), "Content-Type": "message/rfc822"}
MAIL_LIMIT = 2 * 1_048_576
FILE_LIMIT = 600_000
FILE_COUNT = 3


@pytest.fixture
async def intake(
    isolated: Isolation, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[httpx.AsyncClient]:
    for key, value in isolated.env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("HELPDESK_MAX_MAIL_BYTES", str(MAIL_LIMIT))
    monkeypatch.setenv("HELPDESK_MAX_ATTACHMENT_BYTES", str(FILE_LIMIT))
    monkeypatch.setenv("HELPDESK_MAX_ATTACHMENTS", str(FILE_COUNT))
    async with in_process(create_app(IntakeSettings())) as client:
        for org in ("acme", "globex"):
            body = {"id": org, "name": org.upper(), "email_domains": [f"{org}.example"]}
            assert (
                await client.post("/v1/organizations", json=body, headers=auth(["admin"]))
            ).status_code == 201
        yield client


def message_with_files(files: list[tuple[str, str, bytes, bool]]) -> bytes:
    msg = EmailMessage()
    msg["From"] = "Ann <ann@acme.example>"
    msg["To"] = "support@helpdesk.switchboard.example"
    msg["Subject"] = "Crash with logs"
    msg.set_content("The service crashes at start, logs attached.")
    msg.add_alternative('<p>The service crashes at start.<img src="cid:shot@acme"></p>', "html")
    for name, ctype, data, inline in files:
        main, sub = ctype.split("/")
        extra = {"cid": "<shot@acme>"} if inline else {}
        msg.add_attachment(
            data,
            maintype=main,
            subtype=sub,
            filename=name,
            disposition="inline" if inline else "attachment",
            **extra,
        )
    return msg.as_bytes(policy=SMTP)


async def test_files_are_stored_within_limits_and_served_back_byte_for_byte(
    intake: httpx.AsyncClient,
) -> None:
    report = b"%PDF-1.7\n" + os.urandom(400_000)  # several storage chunks
    shot = b"\x89PNG\r\n\x1a\n" + os.urandom(2_000)
    dump = os.urandom(FILE_LIMIT + 1)
    notes = b"crash at 10:02, again at 10:07\n"
    files = [
        ("räkning 2026.pdf", "application/pdf", report, False),
        ("screen.png", "image/png", shot, True),
        ("core.dump", "application/octet-stream", dump, False),
        ("notes.txt", "text/plain", notes, False),
    ]
    raw = message_with_files(files)
    created = await intake.post("/v1/inbound/email", content=raw, headers=GATEWAY)
    assert created.status_code == 201, created.text
    number = created.json()["number"]
    ticket = (await intake.get(f"/v1/tickets/{number}", headers=auth())).json()
    message = ticket["messages"][0]
    listed = {a["filename"]: a for a in message["attachments"]}
    assert list(listed) == [name for name, *_ in files]
    assert [(a["size"], a["stored"]) for a in listed.values()] == [
        (len(report), True),
        (len(shot), True),
        (len(dump), False),
        (len(notes), False),
    ]
    assert listed["screen.png"]["inline"] and listed["screen.png"]["content_id"] == "shot@acme"
    assert str(FILE_LIMIT) in listed["core.dump"]["note"]
    assert f"first {FILE_COUNT} files" in listed["notes.txt"]["note"]

    pdf = await intake.get(
        f"/v1/tickets/{number}/attachments/{listed['räkning 2026.pdf']['id']}", headers=auth()
    )
    assert pdf.status_code == 200 and pdf.content == report
    assert pdf.headers["content-type"] == "application/pdf"
    assert "r%C3%A4kning%202026.pdf" in pdf.headers["content-disposition"]
    refused = await intake.get(
        f"/v1/tickets/{number}/attachments/{listed['core.dump']['id']}", headers=auth()
    )
    assert refused.status_code == 404
    original = await intake.get(
        f"/v1/tickets/{number}/messages/{message['id']}/original", headers=auth()
    )
    assert original.status_code == 200 and original.content == raw
    assert message["raw_size"] == len(raw)


async def test_files_follow_the_ticket_visibility(intake: httpx.AsyncClient) -> None:
    raw = message_with_files([("a.txt", "text/plain", b"hello", False)])
    number = (await intake.post("/v1/inbound/email", content=raw, headers=GATEWAY)).json()["number"]
    ticket = (await intake.get(f"/v1/tickets/{number}", headers=auth())).json()
    file_id = ticket["messages"][0]["attachments"][0]["id"]
    path = f"/v1/tickets/{number}/attachments/{file_id}"
    own = await intake.get(path, headers=auth(["customer"], org="acme"))
    other = await intake.get(path, headers=auth(["customer"], org="globex"))
    assert (own.status_code, own.content) == (200, b"hello")
    assert other.status_code == 404 and other.headers["content-type"] == "application/problem+json"


async def test_an_oversized_message_is_held_whole_and_a_giant_one_refused(
    intake: httpx.AsyncClient,
) -> None:
    big = message_with_files(
        [("video.bin", "application/octet-stream", os.urandom(1_800_000), False)]
    )
    assert MAIL_LIMIT < len(big) < 4 * MAIL_LIMIT
    held = await intake.post("/v1/inbound/email", content=big, headers=GATEWAY)
    assert held.status_code == 202, held.text
    assert held.json()["reason"] == f"oversized ({len(big)} bytes, the limit is {MAIL_LIMIT})"
    listed = (await intake.get("/v1/inbound/quarantine", headers=auth())).json()["items"]
    assert [(i["sender"], i["subject"], i["size"]) for i in listed] == [
        ("ann@acme.example", "Crash with logs", len(big))
    ]
    released = await intake.post(
        f"/v1/inbound/quarantine/{held.json()['quarantined']}/release", json={}, headers=auth()
    )
    assert released.status_code == 201 and released.json()["action"] == "created"
    ticket = (await intake.get(f"/v1/tickets/{released.json()['number']}", headers=auth())).json()
    assert ticket["messages"][0]["raw_size"] == len(big)

    giant = b"From: ann@acme.example\r\nSubject: dump\r\n\r\n" + b"x" * (4 * MAIL_LIMIT)
    refused = await intake.post("/v1/inbound/email", content=giant, headers=GATEWAY)
    assert refused.status_code == 413
    assert refused.headers["content-type"] == "application/problem+json"


def upload(name: str, data: bytes, ctype: str = "text/plain") -> dict[str, str]:
    return {"filename": name, "content_type": ctype, "content": base64.b64encode(data).decode()}


async def test_files_sent_through_the_api_are_kept_and_refused_whole_over_a_limit(
    intake: httpx.AsyncClient,
) -> None:
    ann = auth(["customer"], org="acme", sub="ann")
    shot = os.urandom(300_000)
    created = await intake.post(
        "/v1/tickets",
        json={
            "subject": "Error dialog",
            "description": "See the screenshot.",
            "attachments": [upload("dialog.png", shot, "image/png")],
        },
        headers=ann,
    )
    assert created.status_code == 201, created.text
    ref = created.json()["number"]
    reply = await intake.post(
        f"/v1/tickets/{ref}/messages",
        json={"body": "And the log.", "attachments": [upload("app.log", b"ERROR 42\n")]},
        headers=ann,
    )
    too_big = await intake.post(
        f"/v1/tickets/{ref}/messages",
        json={"body": "dump", "attachments": [upload("core", os.urandom(FILE_LIMIT + 1))]},
        headers=ann,
    )
    too_many = await intake.post(
        f"/v1/tickets/{ref}/messages",
        json={"body": "many", "attachments": [upload(f"{n}.txt", b"x") for n in range(4)]},
        headers=ann,
    )
    garbled = await intake.post(
        f"/v1/tickets/{ref}/messages",
        json={"body": "x", "attachments": [{"filename": "a", "content": "***"}]},
        headers=ann,
    )
    assert reply.status_code == 201
    assert (too_big.status_code, too_big.json()["errors"][0]["field"]) == (422, "attachments.0")
    assert (too_many.status_code, too_many.json()["errors"][0]["field"]) == (422, "attachments.3")
    assert garbled.status_code == 422
    assert "attachments" in garbled.json()["errors"][0]["field"]
    ticket = (await intake.get(f"/v1/tickets/{ref}", headers=ann)).json()
    assert [m["body"] for m in ticket["messages"]] == ["See the screenshot.", "And the log."]
    files = [
        (m["attachments"][0]["filename"], m["attachments"][0]["id"]) for m in ticket["messages"]
    ]
    got = [
        (await intake.get(f"/v1/tickets/{ref}/attachments/{file_id}", headers=ann)).content
        for _, file_id in files
    ]
    assert [name for name, _ in files] == ["dialog.png", "app.log"]
    assert got == [shot, b"ERROR 42\n"]


async def test_active_files_are_downloaded_never_rendered(intake: httpx.AsyncClient) -> None:
    page = b"<html><script>fetch('/v1/tickets').then(r => r.text()).then(steal)</script></html>"
    files = [
        ("invoice.html", "text/html", page, False),
        ("logo.svg", "image/svg+xml", b"<svg onload='steal()'/>", False),
        ("tool.js", "application/javascript", b"steal()", False),
        ("log.txt", "text/plain; charset=utf-8", b"ok", False),
        ("shot.png", "image/png", b"\x89PNG\r\n\x1a\n", False),
    ]
    served = {}
    mails = [files[i : i + FILE_COUNT] for i in range(0, len(files), FILE_COUNT)]
    found = [attachment for mail in mails for attachment in await stored(intake, mail)]
    for attachment, number in found:
        got = await intake.get(
            f"/v1/tickets/{number}/attachments/{attachment['id']}", headers=auth()
        )
        assert got.status_code == 200 and got.headers["x-content-type-options"] == "nosniff"
        assert got.headers["content-disposition"].startswith("attachment;")
        served[attachment["filename"]] = got.headers["content-type"]
    assert served == {
        "invoice.html": "application/octet-stream",
        "logo.svg": "application/octet-stream",
        "tool.js": "application/octet-stream",
        "log.txt": "text/plain; charset=utf-8",
        "shot.png": "image/png",
    }


async def stored(
    intake: httpx.AsyncClient, files: list[tuple[str, str, bytes, bool]]
) -> list[tuple[dict[str, Any], str]]:
    """The attachments of a new ticket made from one mail with these files, with its number."""
    raw = message_with_files(files)
    number = (await intake.post("/v1/inbound/email", content=raw, headers=GATEWAY)).json()["number"]
    ticket = (await intake.get(f"/v1/tickets/{number}", headers=auth())).json()
    return [(a, number) for a in ticket["messages"][0]["attachments"]]
