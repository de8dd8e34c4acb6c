"""The inbound mail parser against hostile input: linear scanners, bounded patterns, MIME
limits, and every failure of the standard library's parser ending as a reason to quarantine.

No timings here: linearity is shown by structure (what the scanners read, what the patterns
can do) and the results on adversarial input are checked for what a mail reader would show.
"""

from __future__ import annotations

import base64
import binascii
import html
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from re import _parser as sre  # the pattern's parse tree, to check its repeats
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import services.intake.domain as intake_domain
from services.intake.domain import mail
from services.intake.domain.mail import (
    BOUNCE_SUBJECT,
    QUOTED_MESSAGE_ID,
    UnreadableMail,
    html_to_text,
    parse_mail,
    sender_and_subject,
    split_uuencoded,
    unflow,
)

HTML = "text/html; charset=utf-8"
MAX_HEADER_CHARS = 8_192


def message(
    body: str | bytes, ctype: str = "text/plain; charset=utf-8", headers: str = ""
) -> bytes:
    head = f"From: Ann <ann@acme.example>\r\nSubject: hostile\r\n{headers}Content-Type: {ctype}\r\n"
    return head.encode() + b"\r\n" + (body.encode() if isinstance(body, str) else body)


def nested(depth: int) -> bytes:
    """multipart/mixed inside multipart/mixed, `depth` levels, a text part at the bottom."""
    opening = "".join(
        f"--b{level}\r\nContent-Type: multipart/mixed; boundary=b{level + 1}\r\n\r\n"
        for level in range(depth - 1)
    )
    closing = "".join(f"--b{level}--\r\n" for level in reversed(range(depth)))
    body = f"{opening}--b{depth - 1}\r\nContent-Type: text/plain\r\n\r\nbottom\r\n{closing}"
    return message(body, "multipart/mixed; boundary=b0", "MIME-Version: 1.0\r\n")


def attached(depth: int) -> bytes:
    """A message attached in a message, `depth` times."""
    raw = "From: a@acme.example\r\nSubject: innermost\r\nContent-Type: text/plain\r\n\r\nhi\r\n"
    for _ in range(depth):
        raw = f"From: a@acme.example\r\nContent-Type: message/rfc822\r\n\r\n{raw}"
    return raw.encode()


def parts(count: int) -> bytes:
    body = "".join("--b\r\nContent-Type: text/plain\r\n\r\nx\r\n" for _ in range(count))
    return message(body + "--b--\r\n", "multipart/mixed; boundary=b")


# --- The scanners read each character a bounded number of times --------------------------


@dataclass
class Reading:
    """A compiled pattern that adds up how much of the text its searches read."""

    pattern: re.Pattern[str]
    read: list[int]

    def search(self, text: str, pos: int = 0, endpos: int = sys.maxsize) -> re.Match[str] | None:
        found = self.pattern.search(text, pos, endpos)
        self.read.append((found.end() if found else min(endpos, len(text))) - pos)
        return found

    def match(self, text: str, pos: int = 0) -> re.Match[str] | None:
        found = self.pattern.match(text, pos)
        self.read.append((found.end() if found else pos + 1) - pos)
        return found

    def fullmatch(self, text: str) -> re.Match[str] | None:
        self.read.append(len(text))
        return self.pattern.fullmatch(text)


@pytest.fixture
def html_reads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    read: list[int] = []
    for name in ("MARKUP", "GT", "COMMENT_END"):
        monkeypatch.setattr(mail, name, Reading(getattr(mail, name), read))
    closing = {tag: Reading(pattern, read) for tag, pattern in mail.CLOSING.items()}
    monkeypatch.setattr(mail, "CLOSING", closing)
    return read


HOSTILE_MARKUP: dict[str, Callable[[int], str]] = {
    "unclosed script (the review's)": lambda n: "<script\n" * (n // 8),
    "script opened, never closed": lambda n: "<script>" * (n // 8),
    "unclosed tags": lambda n: "<a " * (n // 3),
    "a run of <": lambda n: "<" * n,
    "<br without >": lambda n: "<br" * (n // 3),
    "unclosed comments": lambda n: "<!--" * (n // 4),
    "pre opened, never closed": lambda n: "<pre>" * (n // 5),
    "head opened, never closed": lambda n: "<head>x" * (n // 7),
    "title opened, never closed": lambda n: "<title>x" * (n // 8),
    "closing tags only": lambda n: "</p>" * (n // 4),
    "bogus markup": lambda n: "<!x<?y</ " * (n // 9),
    "entities": lambda n: "&#" * (n // 2),
    "tags and words": lambda n: "<p>word</p>" * (n // 11),
}


@pytest.mark.parametrize("shape", sorted(HOSTILE_MARKUP))
def test_the_html_scanner_reads_each_character_a_bounded_number_of_times(
    shape: str, html_reads: list[int]
) -> None:
    for size in (1_000, 100_000):
        html_reads.clear()
        markup = HOSTILE_MARKUP[shape](size)
        html_to_text(markup)
        assert html_reads, "the scanner searches with the patterns measured here"
        # one pass, plus one more for a missing </head> and one for a missing </title>
        assert sum(html_reads) <= 3 * len(markup) + 8


@given(st.text(alphabet="<>/!?-ahdeiprstly \n&#;", max_size=300))
def test_any_markup_is_read_in_bounded_passes(markup: str) -> None:
    read: list[int] = []
    saved = (mail.MARKUP, mail.GT, mail.COMMENT_END, mail.CLOSING)
    try:
        mail.MARKUP, mail.GT, mail.COMMENT_END = (
            Reading(p, read)  # type: ignore[assignment]
            for p in saved[:3]
        )
        mail.CLOSING = {t: Reading(p, read) for t, p in saved[3].items()}  # type: ignore[misc]
        html_to_text(markup)
    finally:
        mail.MARKUP, mail.GT, mail.COMMENT_END, mail.CLOSING = saved
    assert sum(read) <= 3 * len(markup) + 8


@given(st.text(alphabet="<>/!?-ahdeiprstly \n&#;", max_size=200), st.integers(1, 9))
def test_searching_in_windows_finds_what_one_search_finds(markup: str, window: int) -> None:
    whole = html_to_text(markup)
    saved = mail.SEARCH_WINDOW
    try:
        mail.SEARCH_WINDOW = window
        assert html_to_text(markup) == whole
    finally:
        mail.SEARCH_WINDOW = saved


def test_the_uuencode_scanner_reads_each_line_once_per_pattern(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    begins: list[int] = []
    ends: list[int] = []
    monkeypatch.setattr(mail, "UU_BEGIN", Reading(mail.UU_BEGIN, begins))
    monkeypatch.setattr(mail, "UU_END", Reading(mail.UU_END, ends))
    block = "begin 644 a.log\n" + binascii.b2a_uu(b"data\n").decode() + "`\nend"
    text = "begin 0 a\n" * 2_000 + block + "\nbegin 644 b\n" * 2_000
    assert [a.filename for a in split_uuencoded(text)[1]] == ["a.log"]
    assert begins and ends, "the scanner matches lines with the patterns measured here"
    assert sum(begins) <= len(text) and sum(ends) <= len(text)


# --- The fixed patterns are provably linear -------------------------------------------------

# Every pattern the mail path uses, and why it runs in linear time. A new or changed pattern
# fails test_every_pattern_on_the_mail_path_is_reviewed until it is added here with its reason.
REVIEWED = {
    r"\[(HD-\d{6,})\]": "search: a literal, then digits, then a literal; digit runs are disjoint",
    r"^(auto(matic)?[ -]?(reply|response)|out of (the )?office( auto ?reply)?|"
    r"abwesenheit(snotiz)?|autosvar|automatiskt svar|automatyczna odpowiedź|"
    r"odpowiedź automatyczna|автоответ|автоматический ответ|нет на месте)\s*:": "match at "
    "the start only; literal alternatives",
    r"^(mailer-daemon|postmaster)@": "match at the start only; literals",
    r"^(On .{1,250} wrote:|Am .{1,200} schrieb .{1,100}:|-----\s*Original Message\s*-----|"
    r"From: .+|Från: .+|Od: .+|От: .+|_{10,}|"
    r"Den .{1,200} skrev .{0,200}:|(Dnia|W dniu) .{1,200} napisał(\(a\))?:|"
    r"\d{1,2}[./]\d{1,2}[./]\d{2,4}.{0,200}(wrote|пишет|написал(\(а\))?|napisał(\(a\))?|"
    r"skrev):?)\s*$": "match at the start of one line; every run bounded, or to the line's end",
    r"(wrote|schrieb|skrev|napisał(\(a\))?|пишет|написал(\(а\))?):$": "search: literal "
    "alternatives at each position",
    r"<([^<>\s]+)>": "search: the run stops at the next <, so runs from two starts are disjoint",
    r"[\x00-\x1f\x7f]": "one character class",
    r"\n{3,}": "one character class",
    r"\s+": "one character class",
    r"[ \t\xa0]+": "one character class",
    r">": "a literal",
    r"-->": "a literal",
    r"<(?:(/?)([A-Za-z][^\s/>]*+)|!--|[!?/])": "search: a <, then a possessive name run",
    r"&#(?:0++([0-9]*+)|[1-9][0-9]{7,}+)(;?)": "search: &#, then possessive digit runs",
    r"begin [0-7]{3,4} ([^\r\n]+)\r?": "fullmatch on one line: literal, bounded digits, a run",
    r"end[ \t]*\r?": "fullmatch on one line",
    **{
        rf"</{name}\s*>": "search: a literal, then a whitespace run"
        for name in ("head", "script", "style", "title")
    },
    r"^HD-(\d{6,})$": "match at the start only (parse_number)",
    r"=\?[^?\s]{1,75}\?[bBqQ]\?[^?\s]{0,998}\?=": "search in one address: bounded runs",
    rb"[!-9;-~]{1,200}[ \t]*:": "match at a line's start: a bounded name, then a blank run",
    r"[^.]{1,150}\.[A-Za-z0-9]{2,6}": "fullmatch of a short name: bounded runs",
    BOUNCE_SUBJECT.pattern: "match at the start: literal alternatives only",
    QUOTED_MESSAGE_ID.pattern: "search per line start: a blank run, a bounded id",
    mail.DSN_FIELD.pattern: "search per line start: a blank run, a bounded rest of line",
    mail.WORD_CHARSET.pattern: "sub: a literal, a bounded label, a literal",
    mail.CONTENT_TYPE_LINE.pattern: "search per line start: bounded lines, bounded count",
    mail.FIRST_DELIMITER.pattern: "search per line start: a bounded name, a blank run",
    mail.META_CHARSET.pattern: "search in 4 KB: a literal, bounded runs",
}


def _patterns(module: Any) -> Iterator[re.Pattern[Any]]:
    for value in vars(module).values():
        if isinstance(value, re.Pattern):
            yield value
        elif isinstance(value, dict):
            yield from (v for v in value.values() if isinstance(v, re.Pattern))


USED = sorted({p.pattern for module in (mail, intake_domain) for p in _patterns(module)}, key=repr)


def test_every_pattern_on_the_mail_path_is_reviewed() -> None:
    unreviewed = set(USED) - set(REVIEWED)
    assert not unreviewed, f"review these patterns for linear time: {unreviewed}"


def _repeats(tree: Any, inside_unbounded: bool = False) -> Iterator[tuple[Any, bool, bool]]:
    """Each repeat of a parsed pattern: (op, unbounded, nested in an unbounded repeat)."""
    for op, arg in tree:
        if op in (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT):
            low, high, sub = arg
            unbounded = high == sre.MAXREPEAT
            yield op, unbounded, inside_unbounded
            yield from _repeats(
                sub, inside_unbounded or (unbounded and op != sre.POSSESSIVE_REPEAT)
            )
        elif op in (sre.SUBPATTERN, sre.ATOMIC_GROUP):
            yield from _repeats(arg[-1], inside_unbounded)
        elif op == sre.BRANCH:
            for branch in arg[1]:
                yield from _repeats(branch, inside_unbounded)


@pytest.mark.parametrize("pattern", USED)
def test_no_pattern_has_a_lazy_or_nested_unbounded_repeat(pattern: str | bytes) -> None:
    for op, unbounded, nested_in_unbounded in _repeats(sre.parse(pattern)):
        assert not (op == sre.MIN_REPEAT and unbounded), "a lazy run rescans from every start"
        assert not (unbounded and nested_in_unbounded), "nested runs backtrack exponentially"


# --- Adversarial input gives what a mail reader would show ---------------------------------


@pytest.mark.parametrize(
    ("markup", "shown"),
    [
        ("<script\r\n" * 8000, ""),  # the review's case: a tag that never closes
        ("Hello<script>alert(1)" + "x" * 10_000, "Hello"),  # raw text runs to the end
        ("Hi <b", "Hi"),
        ("Hi <!-- never closed " + "<p>x</p>" * 1000, "Hi"),
        ("<" * 50_000, "<" * 50_000),  # a "<" that opens nothing is text
        ("1 < 2 and 3 > 2", "1 < 2 and 3 > 2"),
        ("<head><title>T" + "<p>body</p>", "Tbody"),  # an unclosed title hides nothing
        ("<head>" * 5_000 + "<p>body</p>", "body"),
        ("<pre>" * 10_000 + "a\nb", "a\nb"),  # a pre left open keeps its lines, as a browser
        ("&#" * 20_000, "&#" * 20_000),
        ("x&#" + "9" * 5_000 + ";y", "x\ufffdy"),  # html.unescape alone raises (int limit)
        ("&#" + "0" * 5_000 + "65;", "A"),
        ("&#x" + "0" * 5_000 + "41;", "A"),
        ("<p>a</p><P >b</P ><div>c<br/>d</div><table><tr><td>1</td><td>2</td></tr></table>", None),
    ],
)
def test_adversarial_html_gives_what_a_reader_would_see(markup: str, shown: str | None) -> None:
    expected = shown if shown is not None else "a\nb\nc\nd\n1 2"
    assert html_to_text(markup) == expected


@given(st.text(alphabet="&#x0123456789;aX ", max_size=40))
def test_shortened_references_decode_as_html_unescape_decodes_them(text: str) -> None:
    assert html.unescape(mail.LONG_REF.sub(mail._short_ref, text)) == html.unescape(text)


def test_a_mail_of_the_reviews_html_is_read_not_frozen_on() -> None:
    m = parse_mail(message("<script\r\n" * 8000, HTML))
    assert (m.sender_email, m.text) == ("ann@acme.example", "")


def test_begin_lines_without_an_end_stay_text() -> None:
    text = "begin 644 a\n" * 2_000 + "thanks"
    assert split_uuencoded(text) == (text, [])
    m = parse_mail(message(text))
    assert m.attachments == [] and m.text.endswith("thanks")


def test_a_block_after_many_open_begins_is_still_found() -> None:
    block = "begin 644 x.log\n" + binascii.b2a_uu(b"ok\n").decode() + "`\nend"
    text, found = split_uuencoded("begin 0 not-a-mode\n" * 1_000 + "see\n" + block + "\nbye")
    assert [(a.filename, a.content) for a in found] == [("x.log", b"ok\n")]
    assert text.endswith("see\n\nbye")


def test_many_soft_line_breaks_join_into_one_line() -> None:
    flowed = "word \n" * 50_000 + "end"
    assert unflow(flowed, delsp=True) == "word" * 50_000 + "end"
    qp = message(
        "=\r\n" * 30_000 + "done", headers="Content-Transfer-Encoding: quoted-printable\r\n"
    )
    assert parse_mail(qp).text == "done"


def test_many_header_lines_and_long_lines_are_read() -> None:
    raw = message("a" * 500_000, headers="X-Filler: y\r\n" * 20_000 + "Precedence: bulk\r\n")
    m = parse_mail(raw)
    assert (len(m.text), m.headers["precedence"], m.headers["x-filler"]) == (500_000, "bulk", "y")


def test_a_body_in_a_slow_codec_is_read_as_utf8() -> None:
    body = "Grüße".encode() + b"-" + b"a" * 100_000
    m = parse_mail(message(body, "text/plain; charset=punycode"))
    assert m.text.startswith("Grüße-aaa") and len(m.text) == 100_006


# --- MIME depth and parts -------------------------------------------------------------------


def test_mime_nested_to_the_limit_is_read() -> None:
    assert parse_mail(nested(20)).text == "bottom"


@pytest.mark.parametrize("depth", [21, 1_200, 10_000])
def test_mime_nested_deeper_than_the_limit_is_refused_with_the_reason(depth: int) -> None:
    with pytest.raises(UnreadableMail, match="^MIME parts nested deeper than 20 levels$"):
        parse_mail(nested(depth))


def test_attached_messages_count_as_levels() -> None:
    assert [a.filename for a in parse_mail(attached(19)).attachments] == ["Mail.eml"]
    with pytest.raises(UnreadableMail, match="nested deeper than 20 levels"):
        parse_mail(attached(1_200))


def test_more_parts_than_the_limit_are_refused_with_the_reason() -> None:
    assert parse_mail(parts(499)).text.count("x") == 499  # and the root: 500 parts
    with pytest.raises(UnreadableMail, match="^more than 500 MIME parts$"):
        parse_mail(parts(500))
    with pytest.raises(UnreadableMail, match="^more than 500 MIME parts$"):
        parse_mail(message("A: b\r\n\r\n" * 2_000, "message/delivery-status"))


def test_a_message_of_many_ordinary_files_fits_the_header_budget() -> None:
    body = "".join(
        f'--b\r\nContent-Type: image/jpeg; name="IMG_{n:04}.jpg"\r\n'
        f'Content-Disposition: attachment; filename="IMG_{n:04}.jpg"\r\n'
        f"Content-Transfer-Encoding: base64\r\nContent-ID: <img{n}@phone.example>\r\n\r\n"
        "/9j/4AAQ\r\n"
        for n in range(499)
    )
    m = parse_mail(message(body + "--b--\r\n", "multipart/mixed; boundary=b"))
    assert len(m.attachments) == 499 and m.attachments[-1].filename == "IMG_0498.jpg"


def test_the_limits_are_the_callers() -> None:
    with pytest.raises(UnreadableMail, match="deeper than 3 levels"):
        parse_mail(nested(4), max_depth=3)
    with pytest.raises(UnreadableMail, match="more than 10 MIME parts"):
        parse_mail(parts(10), max_parts=10)


# --- Whatever the standard library raises, the mail is unreadable, with a reason -----------


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (
            b"From: " + b"(" * 3_000 + b"a@acme.example" + b")" * 3_000 + b"\r\n\r\nx",
            "structure nested too deeply to read",  # RecursionError in the header parser
        ),
        (
            message("x").replace(b"hostile", b"=?utf-8?q?a?= " * 1_000),
            f"the Subject header is longer than {MAX_HEADER_CHARS} characters",
        ),
        (
            message("x", "text/plain" + "; a=b" * 2_000),
            f"the Content-Type header is longer than {MAX_HEADER_CHARS} characters",
        ),
        (b"From: " + b"a" * 400 + b"@acme.example\r\n\r\nx", "sender address longer than 320"),
        (
            message(
                "".join(  # each part's header different: each is parsed, none from the cache
                    f"--b\r\nContent-Type: text/plain{'; a=b' * 800}; n={n}\r\n\r\nx\r\n"
                    for n in range(40)
                )
                + "--b--\r\n",
                "multipart/mixed; boundary=b",
            ),
            "more than 131072 characters of headers to read",
        ),
    ],
)
def test_hostile_headers_are_refused_with_a_reason(raw: bytes, reason: str) -> None:
    with pytest.raises(UnreadableMail, match=re.escape(reason)):
        parse_mail(raw)


@pytest.mark.parametrize(
    "error",
    [
        RecursionError("maximum recursion depth exceeded"),
        UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte"),
        LookupError("unknown encoding: x-hostile"),
        AttributeError("'NoneType' object has no attribute 'value'"),
        IndexError("list index out of range"),
    ],
)
def test_any_failure_of_the_parser_is_a_reason_not_a_crash(
    error: Exception, monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing(*_: Any, **__: Any) -> Any:
        raise error

    monkeypatch.setattr(mail, "message_from_bytes", failing)
    monkeypatch.setattr(mail, "BytesHeaderParser", failing)
    with pytest.raises(UnreadableMail) as refused:
        parse_mail(message("x"))
    assert str(refused.value)  # a reason the quarantine shows
    assert sender_and_subject(message("x")) == (None, None)


@pytest.mark.parametrize(
    "ctype",
    [
        "text/plain; charset=x-no-such-charset",
        "text/plain; charset=base64_codec",  # a codec, but not for text
        "text/plain; charset=undefined",  # a codec that always fails
    ],
)
def test_a_charset_that_cannot_decode_keeps_the_text(ctype: str) -> None:
    assert parse_mail(message("plain words", ctype)).text == "plain words"


def test_a_long_display_name_is_cut_to_what_a_ticket_holds() -> None:
    raw = message("x").replace(b"From: Ann <", b"From: " + b"N" * 1_000 + b" <")
    assert parse_mail(raw).sender_name == "N" * 200


def test_long_reference_lists_are_read_as_they_came() -> None:
    ids = [f"<m{n}@thread.example>" for n in range(2_000)]  # 50 KB, past the header limit
    m = parse_mail(message("x", headers=f"References: {' '.join(ids)}\r\n"))
    assert m.references[:2] == ["m0@thread.example", "m1@thread.example"]
    assert len(m.references) == 2_000


def test_the_sender_of_deep_mime_is_still_named_for_the_quarantine() -> None:
    assert sender_and_subject(nested(1_200)) == ("ann@acme.example", "hostile")


def test_an_oversized_message_is_named_from_its_head_only() -> None:
    head = base64.b64encode(b"x" * 10).decode()
    raw = message(head + "\r\n" * 100_000)
    assert sender_and_subject(raw) == ("ann@acme.example", "hostile")
