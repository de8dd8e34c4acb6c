"""How a customer's answer to "resolved: may we close it?" is read (domain/answers.py)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from services.intake.domain.answers import phrases_from, read_answer

TEMPLATES = Path(__file__).parents[2] / "services" / "intake" / "templates"


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("Tak, dziękuję, można zamknąć", "confirms"),
        ("Yes, close it\n\nOn Monday, Support wrote:", "confirms"),
        ("yes", "confirms"),
        ("Ja, stäng", "confirms"),
        ("Да, можно закрыть", "confirms"),
        ("It works now, thank you!", "confirms"),
        ("Thanks!", "unclear"),
        ("Спасибо", "unclear"),
        (
            "Yes\nbut the scanner on floor 3 shows the same error every morning, could you look?",
            "unclear",
        ),
        ("Nie, nadal nie działa", "reply"),
        ("Thanks, but it still fails", "reply"),
        ("Нет, опять не работает", "reply"),
        ("The printer is fine, the scanner is broken", "reply"),
        ("", "reply"),
        ("yes " * 100, "reply"),  # a first line that long is a message, not an answer
    ],
)
def test_an_answer_is_read_by_its_first_line(text: str, intent: str) -> None:
    assert read_answer(text) == intent


@pytest.mark.parametrize("language", ["en", "pl", "sv", "ru"])
def test_the_answer_the_notice_suggests_is_read_as_a_confirmation(language: str) -> None:
    notice = (TEMPLATES / language / "resolved.txt").read_text(encoding="utf-8")
    (suggested,) = re.findall(r"[\"“”„«]([^\"“”„»]{2,40})[\"“”»]", notice)
    assert read_answer(suggested) == "confirms"


def test_configured_phrases_replace_a_languages_built_in_list() -> None:
    phrases = phrases_from('{"confirms": {"en": ["ship it"]}}')
    assert read_answer("Ship it!", phrases) == "confirms"
    assert read_answer("Yes, close it", phrases) == "reply"  # the built-in English list is gone
    assert read_answer("Tak, można zamknąć", phrases) == "confirms"  # Polish's stays


@pytest.mark.parametrize(
    "config", ["[]", '{"maybe": {}}', '{"confirms": {"en": "yes"}}', '{"confirms": {"en": [""]}}']
)
def test_malformed_phrases_are_refused(config: str) -> None:
    with pytest.raises(ValueError):
        phrases_from(config)


def test_a_confirmation_with_a_signature_below_is_still_one() -> None:
    assert read_answer("Yes, close it\nBest regards\nJan Nowak\nACME Corp, IT") == "confirms"
