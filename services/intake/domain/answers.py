"""What a customer's answer to "resolved: may we close it?" says, pure.

The first line of the new text decides (the notice asks for the answer there): a "no" or a
"still" in it is a reply that reopens the ticket; an explicit "close it" or "it works", or a
bare "yes", confirms (a signature below it too); thanks alone, or a confirmation followed by a
question, a "no" or a long text, is unclear: the ticket stays resolved and its agent is told
to read it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

Intent = Literal["reply", "confirms", "unclear"]
FIRST_LINE_CHARS = 200  # a longer first line is a message, not an answer
MORE_TEXT_CHARS = 300  # more after the first line: the customer said something else

CONFIRMS: dict[str, tuple[str, ...]] = {
    "en": ("yes", "close it", "please close", "you may close", "you can close", "can be closed",
           "it works", "works now", "working now", "fixed", "solved", "resolved", "all good"),
    "pl": ("tak", "można zamknąć", "mozna zamknac", "proszę zamknąć", "zamykamy", "zamknijcie",
           "działa", "dziala", "rozwiązane", "naprawione"),
    "sv": ("ja", "stäng", "ni kan stänga", "ni får stänga", "kan stängas", "det fungerar",
           "fungerar nu", "löst", "lost"),
    "ru": ("да", "можно закрыть", "можно закрывать", "закрывайте", "закройте", "работает",
           "решено", "всё работает", "все работает"),
}  # fmt: skip
THANKS: dict[str, tuple[str, ...]] = {
    "en": ("thanks", "thank you", "ok", "okay", "great"),
    "pl": ("dziękuję", "dziekuje", "dzięki", "dzieki", "ok", "super"),
    "sv": ("tack", "ok", "toppen", "bra"),
    "ru": ("спасибо", "благодарю", "ок", "хорошо", "отлично"),
}
DENIES: dict[str, tuple[str, ...]] = {
    "en": ("no", "not", "still", "doesn't", "does not", "don't", "again", "isn't", "broken"),
    "pl": ("nie", "nadal", "wciąż", "wciaz", "dalej", "ponownie"),
    "sv": ("nej", "inte", "fortfarande", "igen", "ej"),
    "ru": ("нет", "не", "всё ещё", "все еще", "по-прежнему", "опять", "снова"),
}
WORD = re.compile(r"[^\W_]+(?:['’-][^\W_]+)*")


@dataclass(frozen=True)
class Phrases:
    """The phrases per language (configurable); every language's are tried, the customer's
    first, since a customer may answer in another language than the ticket's."""

    confirms: Mapping[str, Sequence[str]] = field(default_factory=lambda: CONFIRMS)
    thanks: Mapping[str, Sequence[str]] = field(default_factory=lambda: THANKS)
    denies: Mapping[str, Sequence[str]] = field(default_factory=lambda: DENIES)


def phrases_from(config: str) -> Phrases:
    """Phrases configured as JSON ({"confirms": {"en": [...]}, "thanks": ..., "denies": ...}),
    each language given replacing the built-in list of that language; ValueError if malformed."""
    if not config.strip():
        return Phrases()
    given = json.loads(config)
    if not isinstance(given, dict) or set(given) - {"confirms", "thanks", "denies"}:
        raise ValueError('expected an object with "confirms", "thanks" and/or "denies"')
    merged: dict[str, dict[str, tuple[str, ...]]] = {}
    for kind, builtin in (("confirms", CONFIRMS), ("thanks", THANKS), ("denies", DENIES)):
        languages = given.get(kind, {})
        if not isinstance(languages, dict) or not all(
            isinstance(v, list) and all(isinstance(p, str) and p.strip() for p in v)
            for v in languages.values()
        ):
            raise ValueError(f"{kind}: expected {{language: [phrase, ...]}}")
        merged[kind] = {**builtin, **{k: tuple(v) for k, v in languages.items()}}
    return Phrases(merged["confirms"], merged["thanks"], merged["denies"])


def read_answer(text: str, phrases: Phrases | None = None) -> Intent:
    """The intent of the new text of a reply to a resolved ticket."""
    words = phrases or Phrases()
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    if not lines or len(lines[0]) > FIRST_LINE_CHARS:
        return "reply"
    first = " ".join(WORD.findall(lines[0].lower()))
    rest = " ".join(lines[1:])
    if _says(first, words.denies):
        return "reply"
    if _says(first, words.confirms):
        more = " ".join(WORD.findall(rest.lower()))
        asks = "?" in rest or _says(more, words.denies) or len(rest) > MORE_TEXT_CHARS
        return "unclear" if asks else "confirms"  # a signature below is no new question
    if _says(first, words.thanks):
        return "unclear"
    return "reply"


def _says(line: str, phrases: Mapping[str, Sequence[str]]) -> bool:
    """A phrase of any language as whole words of the line."""
    padded = f" {line} "
    return any(
        f" {' '.join(WORD.findall(phrase.lower()))} " in padded
        for group in phrases.values()
        for phrase in group
    )
