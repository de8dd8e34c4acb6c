"""The inbound mail parser over real-world shapes: charsets, HTML, attachments, replies, junk."""

from __future__ import annotations

import base64
import binascii

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.intake.domain.mail import (
    SpamRule,
    UnreadableMail,
    automated,
    decoded,
    loop_reason,
    new_text,
    parse_mail,
    referenced_number,
)

OURS = "helpdesk.switchboard.example"


def mail(
    headers: str, body: bytes | str = b"Hello", *, ctype: str = "text/plain; charset=utf-8"
) -> bytes:
    head = "From: Ann Customer <ann@acme.example>\r\nTo: support@" + OURS + "\r\n" + headers
    if "Content-Type" not in headers:
        head += f"Content-Type: {ctype}\r\n"
    raw = body.encode() if isinstance(body, str) else body
    return head.encode() + b"\r\n" + raw


def test_a_plain_message_gives_sender_subject_and_text() -> None:
    m = parse_mail(
        mail("Subject: Printer offline\r\nMessage-ID: <a1@acme.example>\r\n", "It is off.")
    )
    assert (m.sender_email, m.sender_name, m.subject) == (
        "ann@acme.example",
        "Ann Customer",
        "Printer offline",
    )
    assert (m.text, m.message_id) == ("It is off.", "a1@acme.example")


def test_the_plain_part_of_an_alternative_is_preferred() -> None:
    body = (
        "--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nPlain words\r\n"
        "--b\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>HTML words</p>\r\n--b--\r\n"
    )
    raw = mail(
        "Subject: x\r\nMIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=b\r\n",
        body,
    )
    assert parse_mail(raw).text == "Plain words"


def test_an_html_only_message_is_turned_into_text() -> None:
    body = (
        "<html><style>p{}</style><body><p>Line one</p><p>Line&nbsp;two &amp; more</p></body></html>"
    )
    m = parse_mail(mail("Subject: x\r\n", body, ctype="text/html; charset=utf-8"))
    assert m.text == "Line one\nLine two & more"


@pytest.mark.parametrize(
    ("charset", "text"),
    [
        ("koi8-r", "Принтер не печатает"),
        ("windows-1251", "Сервер недоступен"),
        ("windows-1250", "Drukarka nie działa, proszę o pomoc"),
        ("iso-8859-2", "Żółć na ekranie"),
        ("iso-8859-1", "Skrivaren fungerar inte, hälsningar"),
        ("gb18030", "打印机无法工作"),
    ],
)
def test_legacy_charsets_are_decoded(charset: str, text: str) -> None:
    m = parse_mail(
        mail("Subject: x\r\n", text.encode(charset), ctype=f"text/plain; charset={charset}")
    )
    assert m.text == text


def test_utf8_with_broken_bytes_keeps_what_it_can() -> None:
    m = parse_mail(mail("Subject: x\r\n", b"Caf\xc3\xa9 \xff\xfe ok"))
    assert m.text.startswith("Café") and m.text.endswith("ok")


def test_an_unknown_charset_does_not_lose_the_message() -> None:
    m = parse_mail(
        mail("Subject: x\r\n", b"plain ascii words", ctype="text/plain; charset=x-unknown-42")
    )
    assert m.text == "plain ascii words"


def test_rfc2047_headers_are_decoded() -> None:
    subject = "=?utf-8?B?" + base64.b64encode("Сбой сервера [HD-000042]".encode()).decode() + "?="
    m = parse_mail(mail(f"Subject: {subject}\r\n"))
    assert m.subject == "Сбой сервера [HD-000042]"
    assert referenced_number(m) == "HD-000042"


def test_attachments_are_listed_with_rfc2231_names_and_sizes() -> None:
    payload = base64.b64encode(b"%PDF-1.4 fake").decode()
    body = (
        "--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nSee attached\r\n"
        "--b\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n"
        "Content-Disposition: attachment; filename*=utf-8''Rapport%20f%C3%B6r%20maj.pdf\r\n\r\n"
        f"{payload}\r\n--b--\r\n"
    )
    m = parse_mail(
        mail(
            "Subject: x\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n", body
        )
    )
    assert m.text == "See attached"
    assert [(a.filename, a.content_type, a.size) for a in m.attachments] == [
        ("Rapport för maj.pdf", "application/pdf", 13)
    ]


def test_replies_name_the_messages_they_answer() -> None:
    m = parse_mail(
        mail("Subject: Re: help\r\nIn-Reply-To: <n1@x>\r\nReferences: <n0@x> <n1@x>\r\n")
    )
    assert m.references == ["n1@x", "n0@x", "n1@x"]
    assert referenced_number(m) is None


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            "Still broken.\r\n\r\nOn Mon, 2 Nov 2026 at 10:00, Support <s@x> wrote:\r\n> old",
            "Still broken.",
        ),
        ("Thanks!\r\n-----Original Message-----\r\nFrom: Support\r\nold text", "Thanks!"),
        ("Fixed now\r\n\r\nFrån: Support\r\nSkickat: idag", "Fixed now"),
        ("Działa\r\n\r\n12.11.2026 10:00 Support napisał:\r\n> stare", "Działa"),
        ("> only a quote\r\n", "> only a quote"),
    ],
)
def test_the_new_text_of_a_reply_leaves_the_quoted_history_out(body: str, expected: str) -> None:
    assert new_text(parse_mail(mail("Subject: Re: x\r\n", body)).text) == expected


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        (
            "Subject: Away\r\nAuto-Submitted: auto-replied\r\n",
            "auto-reply (Auto-Submitted: auto-replied)",
        ),
        ("Subject: x\r\nX-Autoreply: yes\r\n", "auto-reply (X-Autoreply)"),
        ("Subject: news\r\nPrecedence: bulk\r\n", "bulk mail (Precedence: bulk)"),
        ("Subject: Out of Office: back Monday\r\n", "auto-reply (out-of-office subject)"),
        ("Subject: Автоответ: в отпуске\r\n", "auto-reply (out-of-office subject)"),
        (
            "Subject: Undelivered\r\n"
            "Content-Type: multipart/report; report-type=delivery-status; boundary=b\r\n",
            "bounce (delivery status notification)",
        ),
        (
            "Subject: x\r\nX-Switchboard-Notification: acknowledgement\r\n",
            "our own notification came back",
        ),
    ],
)
def test_loops_and_junk_are_recognised(headers: str, reason: str) -> None:
    assert loop_reason(parse_mail(mail(headers, "--b--\r\n")), OURS) == reason


@pytest.mark.parametrize(
    ("headers", "kind"),
    [
        ("Subject: Cheap\r\nX-Spam-Flag: YES\r\n", "spam"),
        ("Subject: Cheap\r\nX-Spam-Status: Yes, score=9.1 required=5.0\r\n", "spam"),
        ("Subject: Cheap\r\nX-Spam-Status: No, score=0.1\r\n", None),
        ("Subject: Cheap\r\nX-Rspamd-Score: 12.5\r\n", "spam"),
        ("Subject: Fine\r\nX-Rspamd-Score: 1.5\r\n", None),
        ("Subject: Fine\r\nX-Rspamd-Score: lots\r\n", None),
        ("Subject: Digest\r\nList-Id: <ops.lists.acme.example>\r\n", "list"),
        ("Subject: Digest\r\nList-Unsubscribe: <mailto:leave@acme.example>\r\n", "list"),
        ("Subject: Digest\r\nPrecedence: list\r\n", "list"),
        ("Subject: Junk\r\nPrecedence: junk\r\n", "bulk"),
        ("Subject: Job report\r\nReturn-Path: <>\r\n", "null_sender"),
        ("Subject: Fine\r\nAuto-Submitted: no\r\n", None),
        ("Subject: Undeliverable: VPN drops\r\n", "bounce"),
        ("Subject: Delivery Status Notification (Failure)\r\n", "bounce"),
        ("Subject: Why was my mail undeliverable?\r\n", None),
        ("Subject: report\r\nContent-Type: multipart/report; boundary=b\r\n", "bounce"),
    ],
)
def test_automated_mail_is_told_by_kind(headers: str, kind: str | None) -> None:
    found = automated(parse_mail(mail(headers, "--b--\r\n")), OURS, SpamRule("X-Rspamd-Score", 6))
    assert (found.kind if found else None) == kind


def test_a_bare_mailer_daemon_is_a_bounce_sender_not_unreadable() -> None:
    raw = b"From: MAILER-DAEMON\r\nSubject: failure notice\r\n\r\nSorry."
    found = automated(parse_mail(raw), OURS)
    assert found is not None and found.kind == "bounce"


def test_a_bounce_from_the_mailer_daemon_is_recognised() -> None:
    raw = mail("Subject: failure\r\n").replace(
        b"Ann Customer <ann@acme.example>", b"MAILER-DAEMON@mx.acme.example"
    )
    assert loop_reason(parse_mail(raw), OURS) == "bounce (delivery status notification)"


def test_an_ordinary_request_is_no_loop() -> None:
    assert (
        loop_reason(parse_mail(mail("Subject: Printer offline\r\nAuto-Submitted: no\r\n")), OURS)
        is None
    )


@pytest.mark.parametrize(
    "raw",
    [b"", b"   \r\n", b"Subject: no sender\r\n\r\nbody", b"From: nobody\r\nSubject: x\r\n\r\nbody"],
)
def test_what_cannot_be_read_is_refused_with_a_reason(raw: bytes) -> None:
    with pytest.raises(UnreadableMail):
        parse_mail(raw)


def test_a_uuencoded_log_is_a_text_file_whatever_the_hosts_type_table_says() -> None:
    block = "begin 644 server.log\n" + binascii.b2a_uu(b"ERROR disk full\n").decode() + "`\nend\n"
    m = parse_mail(mail("Subject: log\r\n", f"See the log.\n\n{block}\nThanks"))
    assert m.text == "See the log.\n\nThanks"
    assert [(a.filename, a.content_type, a.content) for a in m.attachments] == [
        ("server.log", "text/plain", b"ERROR disk full\n")
    ]


FORWARDED = (
    b"From: support-forwarder@acme.example\r\nTo: x@y.example\r\nX-Empty:\r\n"
    b"DKIM-Signature: v=1; a=rsa-sha256; d=acme.example;\r\n\tb=abc\r\n"
    b"Subject: The original\r\n\r\nSigned text.\r\n\r\n"
)


@pytest.mark.parametrize("nested", [False, True])
def test_a_forwarded_message_is_kept_byte_for_byte(nested: bool) -> None:
    inner = b"--b\r\nContent-Type: message/rfc822\r\n\r\n" + FORWARDED + b"\r\n--b--\r\n"
    if nested:
        inner = (
            b"--o\r\nContent-Type: text/plain\r\n\r\nSee below.\r\n--o\r\n"
            b"Content-Type: multipart/mixed; boundary=b\r\n\r\n" + inner + b"--o--\r\n"
        )
    raw = (
        b"From: ann@acme.example\r\nSubject: Fwd\r\nMIME-Version: 1.0\r\n"
        + (
            b"Content-Type: multipart/mixed; boundary=o"
            if nested
            else b"Content-Type: multipart/mixed; boundary=b"
        )
        + b"\r\n\r\n"
        + (b"" if nested else b"--b\r\nContent-Type: text/plain\r\n\r\nSee below.\r\n")
        + inner
    )
    (attached,) = parse_mail(raw).attachments
    assert attached.filename == "The original.eml" and attached.content == FORWARDED


@pytest.mark.parametrize(
    ("parts", "text"),
    [
        (
            b"--a\r\nContent-Type: text/plain\r\n\r\n \r\n--a\r\nContent-Type: text/html\r\n\r\n"
            b"<p>Only the HTML says it.</p>\r\n--a--\r\n",
            "Only the HTML says it.",
        ),
        (
            b"--a\r\nContent-Type: text/plain\r\n\r\nPlain.\r\n--a\r\nContent-Type: text/html\r\n"
            b"\r\n<p>HTML.</p>\r\n--a--\r\n",
            "Plain.",
        ),
    ],
)
def test_a_blank_plain_rendering_gives_way_to_the_html(parts: bytes, text: str) -> None:
    raw = b"From: ann@acme.example\r\nContent-Type: multipart/alternative; boundary=a\r\n\r\n"
    mail_ = parse_mail(raw + parts)
    assert mail_.text == text and mail_.attachments == []


def test_a_part_sent_uuencoded_is_a_file_named_by_its_begin_line() -> None:
    encoded = binascii.b2a_uu(b"PDF bytes").decode()
    raw = (
        "From: ann@acme.example\r\nSubject: Scan\r\nContent-Type: multipart/mixed; boundary=u\r\n"
        "\r\n--u\r\nContent-Type: text/plain\r\n\r\nThe scan.\r\n"
        "--u\r\nContent-Type: text/plain\r\n"
        f"Content-Transfer-Encoding: x-uuencode\r\n\r\nbegin 644 scan.pdf\r\n{encoded}`\r\nend\r\n"
        "--u--\r\n"
    ).encode()
    found = parse_mail(raw)
    assert found.text == "The scan."
    assert [(a.filename, a.content_type, a.content) for a in found.attachments] == [
        ("scan.pdf", "application/pdf", b"PDF bytes")
    ]


def test_html_fragments_of_a_related_part_are_kept_as_files() -> None:
    raw = (
        b"From: ann@acme.example\r\nContent-Type: multipart/related; boundary=r\r\n\r\n"
        b"--r\r\nContent-Type: text/html\r\n\r\n<p>Root</p>\r\n"
        b"--r\r\nContent-Type: text/html\r\nContent-ID: <frag@x>\r\n\r\n"
        b"<p>Fragment</p>\r\n--r--\r\n"
    )
    found = parse_mail(raw)
    assert found.text == "Root" and [a.filename for a in found.attachments] == ["document.html"]


@given(
    st.text(
        alphabet=st.characters(
            codec="shift_jis", exclude_categories=("Cc",), exclude_characters="\u00a5\u203e"
        ),
        max_size=40,
    )
)
def test_iso_2022_jp_is_read_as_microsofts_superset_of_it(text: str) -> None:
    """What Microsoft's mailers read: the same JIS bytes as Shift_JIS, decoded as cp932 (which
    maps a few of them elsewhere than the standard: ¢ is U+FFE0)."""
    try:
        standard = text.encode("iso2022_jp_ext")
    except UnicodeEncodeError:  # characters the standard form cannot write
        return
    assert decoded(standard, "ISO-2022-JP") == text.encode("shift_jis").decode("cp932")
