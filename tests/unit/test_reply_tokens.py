"""Reply tokens, Authentication-Results and the content digest (domain/replies.py), pure."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.intake.domain.mail import Attachment, InboundMail
from services.intake.domain.notify import Recipient, compose, to_email
from services.intake.domain.replies import (
    ReplyTokens,
    auth_verdict,
    content_digest,
    our_message_id,
    parse_results,
    reply_address,
)

TOKENS = ReplyTokens(b"a secret of ours")
OURS = ("helpdesk.example",)
TRUSTED = ("mx.helpdesk.example",)


def inbound(**fields: object) -> InboundMail:
    base = InboundMail(
        message_id="m1@mail.example",
        sender_email="ann@acme.example",
        sender_name="Ann",
        subject="Re: VPN",
        text="Still down.",
    )
    return replace(base, **fields)  # type: ignore[arg-type]


@given(st.integers(1, 10**18 - 1))
def test_a_token_names_its_ticket_and_only_its_own(seq: int) -> None:
    token = TOKENS.token(seq)
    assert token is not None and TOKENS.seq_of(token) == seq
    assert TOKENS.seq_of(token.upper()) == seq  # a mailer that folds the local part
    forged = token.replace(f"hd{seq}-", f"hd{seq + 1}-")
    assert TOKENS.seq_of(forged) is None
    assert ReplyTokens(b"another secret").seq_of(token) is None


def test_without_a_secret_no_token_is_issued_or_accepted() -> None:
    empty = ReplyTokens(b"")
    token = TOKENS.token(7)
    assert token is not None and empty.token(7) is None and empty.seq_of(token) is None
    mail = inbound(recipients=[f"support+{token}@helpdesk.example"])
    assert empty.found_in(mail, OURS) == [] and TOKENS.found_in(mail, OURS) == [7]


def test_tokens_are_found_in_our_sub_addresses_and_our_message_ids_only() -> None:
    token = TOKENS.token(42)
    assert token is not None
    ours = our_message_id("ack-t1", token, "helpdesk.example")
    assert TOKENS.found_in(inbound(references=["other@x.example", ours]), OURS) == [42]
    elsewhere = [f"support+{token}@evil.example", f"{token}@helpdesk.example"]
    assert TOKENS.found_in(inbound(recipients=elsewhere), OURS) == []
    assert TOKENS.found_in(inbound(references=[f"ack.{token}@evil.example"]), OURS) == []


def test_the_reply_address_is_our_sender_with_the_token_as_sub_address() -> None:
    assert reply_address("Support <support@helpdesk.example>", "hd1-ab") == (
        "Support <support+hd1-ab@helpdesk.example>"
    )
    assert reply_address("help+old@helpdesk.example", "hd2-cd") == "help+hd2-cd@helpdesk.example"


@pytest.mark.parametrize(
    ("headers", "verdict"),
    [
        ([], "none"),
        (["mx.helpdesk.example; spf=pass smtp.mailfrom=ann@acme.example"], "pass"),
        (["mx.helpdesk.example; dkim=pass header.d=mail.acme.example; spf=fail"], "pass"),
        (["mx.helpdesk.example; dmarc=pass header.from=acme.example"], "pass"),
        (["mx.helpdesk.example; spf=fail smtp.mailfrom=ann@acme.example; dkim=none"], "fail"),
        (["mx.helpdesk.example; spf=pass smtp.mailfrom=evil.example"], "fail"),  # not theirs
        (["mx.helpdesk.example; dkim=pass header.d=example"], "fail"),  # no bare suffixes
        (["mx.helpdesk.example; none"], "none"),
        (["in1.mx.helpdesk.example (Postfix); spf=fail (no) smtp.mailfrom=acme.example"], "fail"),
        (["evil.example; spf=fail smtp.mailfrom=acme.example"], "none"),  # not a server we trust
        # only the topmost trusted header counts: the receiving server writes above the rest
        (
            [
                "mx.helpdesk.example; spf=fail smtp.mailfrom=acme.example",
                "mx.helpdesk.example; spf=pass smtp.mailfrom=acme.example",
            ],
            "fail",
        ),
        (
            [
                "evil.example; spf=fail smtp.mailfrom=acme.example",
                "mx.helpdesk.example 1; dkim=pass (good signature) header.i=@acme.example",
            ],
            "pass",
        ),
    ],
)
def test_what_the_receiving_server_recorded(headers: list[str], verdict: str) -> None:
    assert auth_verdict(headers, "ann@acme.example", TRUSTED) == verdict


def test_results_are_read_with_comments_and_quotes_dropped() -> None:
    server, results = parse_results(
        "MX.Helpdesk.Example. (a (nested) comment);"
        ' spf=pass (sender \\) ok) smtp.mailfrom="a@b.example"'
    )
    assert server == "mx.helpdesk.example"
    assert [(r.method, r.result, r.properties) for r in results] == [
        ("spf", "pass", {"smtp.mailfrom": "a@b.example"})
    ]


@given(st.text(alphabet='();=\\" .abmx-spfdkim@', max_size=300))
def test_any_header_value_parses_without_error(value: str) -> None:
    server, results = parse_results(value)
    assert isinstance(server, str) and all(r.method for r in results)


def test_the_digest_tells_the_same_message_from_an_edited_one() -> None:
    mail = inbound(
        headers={"date": "Mon, 7 Dec 2026 10:00:00 +0000"},
        attachments=[Attachment("log.txt", "text/plain", b"line 1")],
    )
    assert content_digest(mail) == content_digest(replace(mail, message_id="another@x"))
    changed = [
        replace(mail, text="Still down!"),
        replace(mail, sender_email="bo@acme.example"),
        replace(mail, subject="Re: VPN again"),
        replace(mail, headers={"date": "Mon, 7 Dec 2026 10:00:01 +0000"}),
        replace(mail, attachments=[Attachment("log.txt", "text/plain", b"line 2")]),
    ]
    assert len({content_digest(m) for m in [mail, *changed]}) == 1 + len(changed)


def test_a_notice_carries_the_token_in_reply_to_and_message_id_and_threads_whole() -> None:
    token = TOKENS.token(12)
    to = Recipient("ann@acme.example", "Ann", "en", "t-1", "HD-000012", "VPN")
    receipt = our_message_id("ack-" + "f" * 36, token, "helpdesk.example")
    now = datetime(2026, 12, 7, tzinfo=UTC)
    note = compose(
        "reply-1", "acknowledgement", to, {}, receipt, "helpdesk.example", now, token=token
    )
    raw = to_email(note, "Support <support@helpdesk.example>", now).as_bytes()
    assert f"Reply-To: Support <support+{token}@helpdesk.example>".encode() in raw.replace(
        b"\n ", b" "
    )
    assert f"Message-ID: <reply-1.{token}@helpdesk.example>".encode() in raw
    assert (
        f"In-Reply-To: <{receipt}>\n".encode() in raw and f"References: <{receipt}>".encode() in raw
    )
