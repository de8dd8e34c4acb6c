"""The mail corpus (tests/unit/mail_corpus) posted byte for byte to POST /v1/inbound/email on
the real store and broker: each message's intake action, and for a ticket its requester,
subject, first message and files as expected.json says. Prints the figures per kind."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.intake.app import IntakeSettings, create_app
from tests.helpers import Isolation, auth, in_process

pytestmark = pytest.mark.integration
CORPUS = Path(__file__).parent.parent / "unit" / "mail_corpus"
EXPECTED: dict[str, dict[str, Any]] = json.loads((CORPUS / "expected.json").read_text("utf-8"))
GATEWAY = {**auth(["service"], sub="mail-gateway"), "Content-Type": "message/rfc822"}
KINDS = [  # the kind of each message, by what its file name says
    ("unreadable", r"unreadable"),
    ("bounces", r"bounce"),
    ("auto-replies and our own", r"out-of-office|auto|x-autoreply|precedence|own-"),
    ("senders", r"sender|from|trailing-dot|junk|folding|encoded-word"),
    ("files", r"attachment|uuencode|zip|pdf|forward|unnamed|parts|embedded|photo|image|winmail"),
    ("charsets", r"ascii|utf8|iso-|windows-|koi8|gb|rfc2047|rfc2231|cp1251|ks-c|shift-jis|8bit"),
    ("bodies and replies", r"."),
]
THREADED = {"34-iphone-reply-references-only.eml"}  # answers 25 (In-Reply-To), same sender
HELD = {
    "unreadable": "unreadable",
    "our own": "ours",
    "bounce": "bounce",
    "auto-reply": "auto_reply",
}


def kind_of(name: str) -> str:
    return next(kind for kind, words in KINDS if re.search(words, name))


def expected_outcome(name: str, expected: dict[str, Any]) -> tuple[int, str]:
    """(status, action or held kind) intake must answer for the message."""
    if name in THREADED:
        return 201, "appended"
    if expected.get("unreadable"):
        return 202, "unreadable"
    reason = expected.get("loop_reason") or ""
    for words, kind in HELD.items():
        if words.lower() in reason.lower() or (kind == "auto_reply" and "out-of-office" in reason):
            return 202, kind
    if re.search(r"Precedence: auto_reply|X-Autoreply|Auto-Submitted", reason):
        return 202, "auto_reply"
    return 201, "created"


def differences(name: str, answer: httpx.Response, ticket: dict[str, Any] | None) -> list[str]:
    expected = EXPECTED[name]
    status, action = expected_outcome(name, expected)
    body = answer.json()
    got = body.get("kind") if answer.status_code == 202 else body.get("action")
    wrong = [] if (answer.status_code, got) == (status, action) else [f"answer {answer.text}"]
    if ticket is None:
        return wrong
    first = ticket["messages"][0]
    checks = {
        "sender_email": ticket["requester"]["email"],
        "subject": ticket["subject"] if expected.get("subject") else None,
        "text": first["original"],
    }
    for field, value in checks.items():
        if field in expected and expected[field] and value != expected[field]:
            wrong.append(f"{field} {value!r}")
    if "attachments" in expected:
        files = [(a["filename"], a["size"]) for a in first["attachments"]]
        wanted = [(a["filename"], a["size"]) for a in expected["attachments"]]
        if files != wanted:
            wrong.append(f"attachments {files}")
    return wrong


async def test_the_corpus_through_the_api_comes_out_as_expected(
    isolated: Isolation, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    env = isolated.env(HELPDESK_MAIL_STORM_LIMIT="0")
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    failures: dict[str, list[str]] = {}
    figures: Counter[tuple[str, bool]] = Counter()
    async with in_process(create_app(IntakeSettings())) as intake:
        for name in sorted(EXPECTED):
            raw = (CORPUS / name).read_bytes()
            answer = await intake.post("/v1/inbound/email", content=raw, headers=GATEWAY)
            ticket = None
            if answer.status_code == 201 and answer.json()["action"] == "created":
                path = f"/v1/tickets/{answer.json()['number']}"
                ticket = (await intake.get(path, headers=auth())).json()
            wrong = differences(name, answer, ticket)
            figures[(kind_of(name), not wrong)] += 1
            if wrong:
                failures[name] = wrong
    with capsys.disabled():
        print("\nmail corpus through POST /v1/inbound/email, right / all, by kind:")
        for kind, _ in KINDS:
            right, total = figures[(kind, True)], figures[(kind, True)] + figures[(kind, False)]
            print(f"  {kind:<26} {right:>3} / {total}")
        print(
            f"  {'all':<26} {sum(n for (_, ok), n in figures.items() if ok):>3} / {len(EXPECTED)}"
        )
    assert failures == {}
