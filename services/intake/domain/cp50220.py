"""ISO-2022-JP as Microsoft's mailers write it (CP50220): JIS X 0208 under ESC $ B with the
NEC and IBM extensions of CP932 (circled numbers, Roman numerals, ...), which Python's
iso2022_jp codecs refuse. Each two-byte JIS character is turned into its Shift_JIS bytes and
the whole read as cp932: one pass over the bytes. Registered as the codec "cp50220"; intake
reads the label iso-2022-jp with it (domain/mail.py SUPERSETS)."""

from __future__ import annotations

import codecs

from typing_extensions import Buffer

NAME = "cp50220"
ESC = 0x1B
MODES = {b"$B": "jis", b"$@": "jis", b"(B": "ascii", b"(J": "ascii", b"(I": "kana"}


def decode(data: Buffer, errors: str = "strict", /) -> tuple[str, int]:
    raw = bytes(data)
    out = bytearray()
    mode, i = "ascii", 0
    while i < len(raw):
        byte = raw[i]
        if byte == ESC and raw[i + 1 : i + 3] in MODES:
            mode, i = MODES[raw[i + 1 : i + 3]], i + 3
        elif byte >= 0x80 or byte == ESC:
            if errors == "strict":
                raise UnicodeDecodeError(NAME, raw, i, i + 1, "not 7-bit ISO-2022-JP")
            out += b"?"
            i += 1
        elif mode == "jis" and 0x21 <= byte <= 0x7E and i + 1 < len(raw):
            out += _shift_jis(byte, raw[i + 1])
            i += 2
        elif mode == "kana" and 0x21 <= byte <= 0x5F:
            out.append(byte + 0x80)
            i += 1
        else:
            out.append(byte)
            i += 1
    return out.decode("cp932", errors), len(raw)


def _shift_jis(first: int, second: int) -> bytes:
    lead = ((first - 0x21) >> 1) + 0x81
    lead += 0x40 if lead > 0x9F else 0
    if first % 2:
        trail = second + 0x1F
        trail += 1 if trail >= 0x7F else 0
    else:
        trail = second + 0x7E
    return bytes((lead, trail))


def _encode(text: str, errors: str = "strict") -> tuple[bytes, int]:
    return codecs.encode(text, "iso2022_jp", errors), len(text)  # writing: the standard form


def _search(name: str) -> codecs.CodecInfo | None:
    if name.replace("-", "_") != NAME:
        return None
    return codecs.CodecInfo(name=NAME, encode=_encode, decode=decode)


codecs.register(_search)
