"""An incident as text: what the recurrence index compares (domain/recurrence.py).

An incident is a sparse vector in blocks, each later scaled to unit length:
- `w` the words of subject and description (stop words of English, Swedish, Polish and Russian
  left out; case and accents folded, Cyrillic transliterated);
- `g` character 4-grams of a rough phonetic key of those words: typos, inflections, compounds,
  and loanwords across languages (certificate, certifikat, certyfikat, сертификат);
- `c` technical tokens: error codes, versions, host names, paths, error constants;
- `p` the product, `v` its version with its prefixes (4.2.1 partly matches 4.2), `a` the asset.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class IncidentText:
    ticket_id: str
    text: str  # subject and description
    organization_id: str | None
    asset: str | None
    product: str | None
    version: str | None
    at: datetime  # tz-aware


GRAM = 4

_SPECIAL = {"ł": "l", "ø": "o", "æ": "ae", "ß": "ss", "đ": "d", "ı": "i", "œ": "oe", "þ": "th"}
_LATIN = "a b v g d e e zh z i i k l m n o p r s t u f kh ts ch sh shch - y - e yu ya i i e g"
_CYRILLIC = dict(zip("абвгдеёжзийклмнопрстуфхцчшщъыьэюяіїєґ", _LATIN.split(), strict=True))
_FOLD = str.maketrans({**_SPECIAL, **{k: v.strip("-") for k, v in _CYRILLIC.items()}})
_COMPOUND = re.compile(r"[^\W_]+(?:[._:/\-][^\W_]+)*")
_SEPARATOR = re.compile(r"[._:/\-]")
_CODE_MARK = re.compile(r"[._:/]")
_VERSION = re.compile(r"v?(\d+(?:\.\d+)+)")
_DIGITS = re.compile(r"\d{3,}")
_PHONETIC = (
    ("ph", "f"), ("th", "t"), ("kh", "h"), ("ch", "h"), ("ck", "k"), ("qu", "kv"), ("q", "k"),
    ("x", "ks"), ("w", "v"), ("y", "i"), ("j", "i"), ("z", "s"),
)  # fmt: skip
_SOFT_C = re.compile(r"c(?=[eiy])")
_DOUBLE = re.compile(r"(.)\1+")
_MARKS = re.compile(r"[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")


def fold(text: str) -> str:
    """Case-folded, transliterated to Latin, accents and marks removed."""
    return _MARKS.sub("", unicodedata.normalize("NFKD", text.casefold().translate(_FOLD)))


_STOP = frozenset(
    fold(w)
    for w in """
    the and for with not but are was were has have had this that these those from into our your
    their its you she him her his they them who what when where which while will would can could
    cannot should been being does did get got also any all some just only very too than then
    there here about after before again once more most other such same over under out off now
    how why because until each both per via please thanks thank hello dear regards best kind
    team hi hey since today yesterday morning still anyone someone one two
    och att det som den har inte med för till på är var jag vi ni han hon dem min mitt mina din
    vår våra era sin sitt sina kan ska skulle hade blir blev från efter innan sedan när där här
    hur vad vilken vilket också bara alla några eller men om så nu igen tack hej hälsningar mvh
    idag igår fortfarande morse
    jest nie się oraz ale ich jak już tak też dla przy przez pod nad bez być było będzie mamy
    mam są ten tego tej tym jego jej nasz nasza nasze czy gdy kiedy gdzie który która które
    jeszcze tylko bardzo dzień dobry pozdrawiam proszę dziękuję witam wczoraj dzisiaj rano
    nadal znowu
    что как все она так его только мне было вот меня еще нет когда уже или быть был него вас
    опять уж вам там потом себя ничего может они тут где есть надо ней для мы тебя их чем была
    сам без будет тогда кто этот того потому этого какой здесь этом чтобы сейчас были можно
    при после над больше тот через эти нас про всего них много эту моя свою этой перед
    здравствуйте спасибо пожалуйста добрый день коллеги снова сегодня вчера утром
    """.split()
)


def phonetic(word: str) -> str:
    """A rough sound key for a folded word, so that spellings of a loanword meet."""
    for a, b in _PHONETIC[:5]:
        word = word.replace(a, b)
    word = _SOFT_C.sub("s", word).replace("c", "k")
    for a, b in _PHONETIC[5:]:
        word = word.replace(a, b)
    return _DOUBLE.sub(r"\1", word)


def key(value: str) -> str:
    return "".join(c for c in fold(value) if c.isalnum())


def text_features(text: str) -> Counter[str]:
    """Counts of the word (`w|`), 4-gram (`g|`) and technical token (`c|`) features of a text."""
    counts: Counter[str] = Counter()
    for match in _COMPOUND.finditer(fold(text)):
        token = match.group()
        parts = _SEPARATOR.split(token)
        version = _VERSION.fullmatch(token)
        if version:
            counts["c|" + version.group(1)] += 1
            continue
        if len(parts) > 1 and (_CODE_MARK.search(token) or any(c.isdigit() for c in token)):
            counts["c|" + token] += 1  # host names, paths, error constants, build numbers
        elif 1 < len(parts) <= 3:
            counts["w|" + "".join(parts)] += 1  # e-mail, sign-in, wi-fi
        for part in parts:
            if part.isalpha():
                if len(part) >= 3 and part not in _STOP:
                    counts["w|" + part] += 1
                    padded = f"^{phonetic(part)}$"
                    counts.update(
                        "g|" + padded[i : i + GRAM] for i in range(len(padded) - GRAM + 1)
                    )
            elif not part.isdigit():
                counts["c|" + part] += 1
                counts.update("c|" + run for run in _DIGITS.findall(part))
            elif len(part) >= 3:
                counts["c|" + part] += 1
    return counts


def features(incident: IncidentText) -> dict[str, float]:
    """The incident's sparse vector before idf: `1 + ln(count)` per text feature, 1 for each
    metadata feature; the first letter of a feature names its block."""
    vector = {f: 1.0 + math.log(n) for f, n in text_features(incident.text).items()}
    product = key(incident.product or "") or None
    if product:
        vector["p|" + product] = 1.0
    if incident.version:
        steps = incident.version.strip().lstrip("vV").split(".")[:3]
        for i in range(1, len(steps) + 1):
            vector[f"v|{product or '-'}|{'.'.join(steps[:i])}"] = 1.0
    if incident.asset and key(incident.asset):
        vector["a|" + key(incident.asset)] = 1.0
    return vector


def spellings(texts: Iterable[str]) -> dict[str, str]:
    """Folded token -> as first written (lower case), so a reason shows ошибка, not oshibka."""
    spelt: dict[str, str] = {}
    for text in texts:
        for match in _COMPOUND.finditer(text.casefold()):
            for token in (match.group(), *_SEPARATOR.split(match.group())):
                spelt.setdefault(fold(token), token)
    return spelt
