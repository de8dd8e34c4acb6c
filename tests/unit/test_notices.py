"""Customer notices: every kind renders in every language we write; the language is found."""

from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes, policy

import pytest

from services.intake.domain.notify import (
    KINDS,
    LANGUAGES,
    Recipient,
    compose,
    language_of,
    to_email,
)

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
CONTEXT = {
    "acknowledgement": {},
    "reply": {"body": "Please restart the agent service.", "author": "Bo Tier"},
    "resolved": {"resolution": "Certificate renewed."},
    "reopened": {"reason": "the customer replied"},
    "sla_breach": {"target": "resolution"},
    "fix_released": {"version": "7.4.1", "product": "Billing", "released_on": "2026-12-01"},
}


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("kind", [k for k in KINDS if k != "advisory"])
def test_every_notice_renders_in_every_language_with_the_number_in_the_subject(
    kind: str, lang: str
) -> None:
    to = Recipient("ann@acme.example", "Ann", lang, "t1", "HD-000042", "VPN drops")
    note = compose(f"{kind}-1", kind, to, CONTEXT[kind], "ack-t1@x.example", "x.example", NOW)
    assert note.subject.startswith("[HD-000042] ") and "VPN drops" in note.subject
    assert "HD-000042" in note.body or kind == "reply"
    assert all(str(v) in note.body for v in CONTEXT[kind].values() if v != "resolution")
    assert "{{" not in note.body and not note.body.startswith("Subject:")
    mail = message_from_bytes(
        bytes(to_email(note, "support@x.example", NOW)), policy=policy.default
    )
    assert str(mail["In-Reply-To"]) == "<ack-t1@x.example>"
    assert mail.get_content().strip() == note.body.strip()


ADVISORY_HEADINGS = {
    "en": ("Planned maintenance", "Advisory"),
    "ru": ("Плановые работы", "Информационное сообщение"),
    "pl": ("Planowane prace", "Komunikat"),
    "sv": ("Planerat underhåll", "Meddelande"),
}


@pytest.mark.parametrize("lang", LANGUAGES)
def test_an_advisory_renders_in_every_language_with_its_window_and_products(lang: str) -> None:
    to = Recipient("ann@acme.example", "Ann", lang)
    window = {
        "title": "Database upgrade",
        "kind": "maintenance",
        "body": "We upgrade the cluster to 14.2.",
        "products": ["Switchboard DB", "Reports"],
        "starts_at": "2026-03-07 22:00",
        "ends_at": "2026-03-08 02:00",
    }
    note = compose("adv-1", "advisory", to, window, None, "x.example", NOW, "adv")
    plain = compose(
        "adv-2",
        "advisory",
        to,
        {**window, "kind": "advisory", "products": [], "starts_at": None, "ends_at": None},
        None,
        "x.example",
        NOW,
        "adv",
    )
    maintenance, advisory = ADVISORY_HEADINGS[lang]
    assert note.subject == f"{maintenance}: Database upgrade"
    assert plain.subject == f"{advisory}: Database upgrade"
    assert (note.ticket_id, note.advisory_id, note.number) == (None, "adv", None)
    for part in (
        "We upgrade the cluster to 14.2.",
        "Switchboard DB, Reports",
        "2026-03-07 22:00",
        "2026-03-08 02:00",
        "Ann",
    ):
        assert part in note.body
    assert "2026-03-07" not in plain.body and "Switchboard DB" not in plain.body
    assert "{{" not in note.body and "{%" not in note.body


def test_a_target_is_named_in_the_customers_language() -> None:
    to = Recipient("ann@acme.example", None, "pl", "t1", "HD-000042", "VPN")
    note = compose("b", "sla_breach", to, {"target": "first_response"}, None, "x.example", NOW)
    assert "pierwszej odpowiedzi" in note.body


@pytest.mark.parametrize(
    ("stated", "text", "lang"),
    [
        ("ru", "anything", "ru"),
        ("sv-SE", "anything", "sv"),
        ("de", "Drucker geht nicht", "en"),
        (None, "Не работает принтер", "ru"),
        (None, "Drukarka nie działa, proszę o pomoc", "pl"),
        (None, "Skrivaren på plan 3 fungerar inte", "sv"),
        (None, "Der Drucker läuft nicht, Grüße", "en"),
        (None, "Printer offline", "en"),
    ],
)
def test_the_language_is_the_stated_one_or_guessed_from_the_text(
    stated: str | None, text: str, lang: str
) -> None:
    assert language_of(stated, text) == lang
