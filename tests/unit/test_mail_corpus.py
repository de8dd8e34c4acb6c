"""The inbound mail parser over a corpus of real-world messages (tests/unit/mail_corpus).

Each `NN-name.eml` is a raw message as a mailer would send it; `expected.json` says, per file,
what a careful reader of that message expects. Every field is optional and checked when given:

- `sender_email`, `sender_name`, `sender_suspect`, `subject`, `number` (`referenced_number`),
  `references`
- `text` (exact `parse_mail(raw).text`) or `text_contains` / `text_excludes` (substrings)
- `new_text` (exact `new_text(text)`) or `new_text_contains` / `new_text_excludes`
- `attachments`: a list of {filename, content_type, size, inline}, in order
- `loop_reason`: null, or a substring of `loop_reason(mail, OURS)`
- `unreadable: true`: `parse_mail` must refuse the bytes (and nothing else is given)
- `xfail`: why the parser does not meet the expectation yet (a strict xfail: fix, then remove)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from services.intake.domain.mail import (
    InboundMail,
    UnreadableMail,
    loop_reason,
    new_text,
    parse_mail,
    referenced_number,
)

OURS = "helpdesk.switchboard.example"
CORPUS = Path(__file__).parent / "mail_corpus"
EXPECTED: dict[str, dict[str, Any]] = json.loads(
    (CORPUS / "expected.json").read_text(encoding="utf-8")
)
FILES = sorted(path.name for path in CORPUS.glob("*.eml"))
FIELDS = {
    "sender_email",
    "sender_name",
    "subject",
    "text",
    "text_contains",
    "text_excludes",
    "new_text",
    "new_text_contains",
    "new_text_excludes",
    "attachments",
    "loop_reason",
    "number",
    "references",
    "sender_suspect",
    "unreadable",
    "xfail",
}
ATTACHMENT_FIELDS = {"filename", "content_type", "size", "inline"}


def _corpus() -> list[Any]:
    params = []
    for name in FILES:
        reason = EXPECTED.get(name, {}).get("xfail")
        marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
        params.append(pytest.param(name, id=name, marks=marks))
    return params


def test_the_corpus_holds_at_least_forty_messages() -> None:
    assert len(FILES) >= 40


def test_every_message_has_an_expectation() -> None:
    assert sorted(set(FILES) - set(EXPECTED)) == []


def test_every_expectation_has_its_message() -> None:
    assert sorted(set(EXPECTED) - set(FILES)) == []


def test_expectations_name_only_fields_the_corpus_checks() -> None:
    unknown = {name: sorted(set(exp) - FIELDS) for name, exp in EXPECTED.items()}
    assert {name: keys for name, keys in unknown.items() if keys} == {}
    for name, exp in EXPECTED.items():
        for attachment in exp.get("attachments", []):
            assert set(attachment) == ATTACHMENT_FIELDS, name
        if exp.get("unreadable"):
            assert set(exp) <= {"unreadable", "xfail"}, name


@pytest.mark.parametrize("name", _corpus())
def test_each_message_reads_as_a_careful_reader_expects(name: str) -> None:
    if name not in EXPECTED:
        pytest.fail(f"{name} has no expectation in expected.json")
    expected = EXPECTED[name]
    raw = (CORPUS / name).read_bytes()
    if expected.get("unreadable"):
        with pytest.raises(UnreadableMail):
            parse_mail(raw)
        return
    mail = parse_mail(raw)
    wanted = {key: value for key, value in expected.items() if key in FIELDS - {"xfail"}}
    assert _observed(mail, wanted) == wanted, f"text was {mail.text!r}"


def _observed(mail: InboundMail, wanted: dict[str, Any]) -> dict[str, Any]:
    """What the parser made of the message, in the shape of the fields asked for."""
    reply = new_text(mail.text)
    reason = loop_reason(mail, OURS)
    got: dict[str, Any] = {
        "sender_email": mail.sender_email,
        "sender_name": mail.sender_name,
        "sender_suspect": mail.sender_suspect,
        "subject": mail.subject,
        "text": mail.text,
        "new_text": reply,
        "number": referenced_number(mail),
        "references": mail.references,
        "attachments": [
            {
                "filename": a.filename,
                "content_type": a.content_type,
                "size": a.size,
                "inline": a.inline,
            }
            for a in mail.attachments
        ],
    }
    found = {"text": mail.text, "new_text": reply}
    for field, source in found.items():
        if f"{field}_contains" in wanted:
            got[f"{field}_contains"] = [s for s in wanted[f"{field}_contains"] if s in source]
        if f"{field}_excludes" in wanted:
            # listed only while absent, so a leak shows up as a missing entry in the diff
            got[f"{field}_excludes"] = [s for s in wanted[f"{field}_excludes"] if s not in source]
    expected_reason = wanted.get("loop_reason")
    if reason is not None and expected_reason is not None and expected_reason in reason:
        reason = expected_reason  # a substring is enough; the diff then shows only real misses
    got["loop_reason"] = reason
    return {key: got[key] for key in wanted}
