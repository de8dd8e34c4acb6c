"""Problems' pure rules: normalised tokens for the incident index, and their similarity."""

from __future__ import annotations

import re
import unicodedata

TOKEN_RE = re.compile(r"[^\W_]+", re.UNICODE)
MIN_TOKEN = 3
MAX_TOKENS = 200


def tokens(*texts: str | None) -> list[str]:
    """Lower-cased, accent-folded word tokens of three letters or more, unique, in order."""
    seen: dict[str, None] = {}
    for text in texts:
        if not text:
            continue
        folded = unicodedata.normalize("NFKD", text.casefold())
        plain = "".join(c for c in folded if not unicodedata.combining(c))
        for token in TOKEN_RE.findall(plain):
            if len(token) >= MIN_TOKEN:
                seen.setdefault(token, None)
    return list(seen)[:MAX_TOKENS]


def jaccard(a: list[str], b: list[str]) -> float:
    sa, sb = set(a), set(b)
    if not sa or not sb:
        return 0.0
    return len(sa & sb) / len(sa | sb)
