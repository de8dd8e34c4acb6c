"""How long intake takes to parse hostile inbound mail, against the size of the message.

    .venv/bin/python tests/bench/bench_mail_parse.py
    .venv/bin/python tests/bench/bench_mail_parse.py --sizes 10k,100k,1m,max --cases html
    .venv/bin/python tests/bench/bench_mail_parse.py --module /tmp/old/mail.py --budget 20

No infrastructure. For each adversarial shape (the security review's two, and the others an
attacker could try) it builds whole messages of about each size and times
`services.intake.domain.mail.parse_mail` on them the way intake runs it: in a worker thread
(asyncio.to_thread), while a ticker on the event loop measures the longest stall the parse
caused there. It prints seconds per size, how the time grew over the last tenfold step of the
size (1.0 is linear, 10 is quadratic), and the stall. `--module` times another copy of mail.py
(the code before a change, say); a size that would take longer than `--budget` seconds, grown
from the last two sizes as they grew, is not run: its cell shows the estimate in brackets.
It asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import importlib.util
import inspect
import math
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from services.intake.app import IntakeSettings  # noqa: E402

HTML = "text/html; charset=utf-8"
PLAIN = "text/plain; charset=utf-8"


def message(body: str, ctype: str = PLAIN, headers: str = "") -> bytes:
    head = (
        "From: Ann Customer <ann@acme.example>\r\nTo: support@helpdesk.switchboard.example\r\n"
        f"Subject: hostile\r\nMessage-ID: <bench@acme.example>\r\nMIME-Version: 1.0\r\n{headers}"
        f"Content-Type: {ctype}\r\n\r\n"
    )
    return head.encode() + body.encode()


def repeated(unit: str, size: int) -> str:
    return unit * max(1, size // len(unit))


def nested(depth: int, size: int) -> bytes:
    opening = "".join(
        f"--b{n}\r\nContent-Type: multipart/mixed; boundary=b{n + 1}\r\n\r\n"
        for n in range(depth - 1)
    )
    closing = "".join(f"--b{n}--\r\n" for n in reversed(range(depth)))
    leaf = f"--b{depth - 1}\r\nContent-Type: text/plain\r\n\r\n{repeated('line of text ', size)}"
    return message(f"{opening}{leaf}\r\n{closing}", "multipart/mixed; boundary=b0")


def parts(count: int, size: int, part_headers: str = "") -> bytes:
    filler = repeated("x", max(1, size // count - len(part_headers) - 50))
    body = "".join(
        f"--b\r\nContent-Type: text/plain{part_headers}; n={n}\r\n\r\n{filler}\r\n"
        for n in range(count)
    )
    return message(body + "--b--\r\n", "multipart/mixed; boundary=b")


def hostile_part_headers(size: int) -> bytes:
    """As many parts as fit (499, the limit less the root), each with a Content-Type of
    parameters just under the header limit, no two alike (a header is parsed once per value):
    the standard library's slowest header work, on every part."""
    params = "; a=b" * 1_600  # 8,000 characters
    return parts(max(1, min(499, size // 8_100)), size, params)


def attachment(size: int) -> bytes:
    data = base64.encodebytes(os.urandom(size * 3 // 4)).decode()
    body = (
        "--b\r\nContent-Type: text/plain\r\n\r\nSee the attached file.\r\n"
        "--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n"
        f'Content-Disposition: attachment; filename="dump.bin"\r\n\r\n{data}--b--\r\n'
    )
    return message(body, "multipart/mixed; boundary=b")


CASES: dict[str, Callable[[int], bytes]] = {
    "review: html <script\\r\\n repeated": lambda n: message(repeated("<script\r\n", n), HTML),
    "review: uuencode 'begin 644 a' lines": lambda n: message(repeated("begin 644 a\r\n", n)),
    "html: unclosed tags '<a '": lambda n: message(repeated("<a ", n), HTML),
    "html: a run of '<'": lambda n: message(repeated("<", n), HTML),
    "html: '<br' without '>'": lambda n: message(repeated("<br", n), HTML),
    "html: unclosed comments '<!--'": lambda n: message(repeated("<!--", n), HTML),
    "html: '<pre>' never closed": lambda n: message(repeated("<pre>", n), HTML),
    "html: '<head>' never closed": lambda n: message(repeated("<head>x", n), HTML),
    "html: '&#' entities": lambda n: message(repeated("&#", n), HTML),
    "html: one decimal reference, all digits": lambda n: message("&#" + "9" * n, HTML),
    "html: ordinary tags '<p>word</p>'": lambda n: message(repeated("<p>word</p>", n), HTML),
    "quoted-printable soft breaks '=\\r\\n'": lambda n: message(
        repeated("=\r\n", n), headers="Content-Transfer-Encoding: quoted-printable\r\n"
    ),
    "format=flowed soft breaks 'word \\r\\n'": lambda n: message(
        repeated("word \r\n", n), f"{PLAIN}; format=flowed; delsp=yes"
    ),
    "many header lines": lambda n: message("hi", headers=repeated("X-Filler: y\r\n", n)),
    "one long line": lambda n: message("a" * n),
    "one long line, html": lambda n: message("a" * n, HTML),
    "reply: attribution lookalikes (+new_text)": lambda n: message(
        repeated("12.11.2026 " + "wrote " * 30 + "q\r\n", n)
    ),
    "mime: 500 parts (the limit)": lambda n: parts(499, n),
    "mime: 500 parts, 8 KB Content-Type each": hostile_part_headers,
    "mime: nested 20 deep (the limit)": lambda n: nested(20, n),
    "mime: nested 1200 deep (refused)": lambda n: nested(1_200, n),
    "baseline: plain text": lambda n: message(repeated("Some words of a request. ", n)),
    "baseline: base64 attachment": attachment,
}
WITH_NEW_TEXT = {"reply: attribution lookalikes (+new_text)"}


def load(path: str | None) -> ModuleType:
    if path is None:
        from services.intake.domain import mail

        return mail
    spec = importlib.util.spec_from_file_location("mail_under_bench", path)
    assert spec is not None and spec.loader is not None, path
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def parser(mail: ModuleType, case: str, depth: int, count: int) -> Callable[[bytes], str]:
    takes_limits = "max_depth" in inspect.signature(mail.parse_mail).parameters
    limits = {"max_depth": depth, "max_parts": count} if takes_limits else {}

    def run(raw: bytes) -> str:
        try:
            parsed = mail.parse_mail(raw, **limits)
            if case in WITH_NEW_TEXT:
                mail.new_text(parsed.text)
        except mail.UnreadableMail as exc:
            return f"held: {exc}"
        except Exception as exc:  # the old code's 5xx
            return f"ERROR {type(exc).__name__}: {exc}"
        return "read"

    return run


async def timed(run: Callable[[bytes], str], raw: bytes) -> tuple[float, float, str]:
    """(seconds, the longest event-loop stall, outcome) of one parse in a worker thread."""
    stall = 0.0
    done = asyncio.Event()

    async def ticker() -> None:
        nonlocal stall
        last = time.perf_counter()
        while not done.is_set():
            await asyncio.sleep(0.001)
            now = time.perf_counter()
            stall = max(stall, now - last - 0.001)
            last = now

    tick = asyncio.create_task(ticker())
    await asyncio.sleep(0)
    start = time.perf_counter()
    outcome = await asyncio.to_thread(run, raw)
    elapsed = time.perf_counter() - start
    done.set()
    await tick
    return elapsed, stall, outcome


def predicted(times: list[tuple[int, float]], size: int) -> float:
    """The time a size would take, grown from the last two as they grew (at least linearly)."""
    if not times:
        return 0.0
    big, t_big = times[-1]
    power = 1.0
    if len(times) >= 2 and times[-2][1] > 0.005:
        small, t_small = times[-2]
        power = max(1.0, math.log(max(t_big, 1e-6) / t_small) / math.log(big / small))
    return t_big * (size / big) ** power


def size_of(text: str, largest: int) -> int:
    text = text.strip().lower()
    if text == "max":
        return largest
    scale = {"k": 1_000, "m": 1_000_000}.get(text[-1:], 1)
    return int(float(text.rstrip("km")) * scale)


def label(size: int) -> str:
    return f"{size / 1_000_000:g} MB" if size >= 1_000_000 else f"{size / 1_000:g} KB"


def machine() -> list[tuple[str, str]]:
    memory = "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    model = platform.processor() or "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    load_avg = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return [
        ("cores", str(os.cpu_count())),
        ("memory", memory),
        ("CPU", model),
        ("Python", platform.python_version()),
        ("load average at start", load_avg),
    ]


async def bench(args: argparse.Namespace, settings: IntakeSettings) -> None:
    mail = load(args.module)
    sizes = sorted({size_of(s, settings.max_mail_bytes) for s in args.sizes.split(",")})
    chosen = [c for c in CASES if not args.cases or any(w in c for w in args.cases.split(","))]
    print("machine:", "; ".join(f"{k} {v}" for k, v in machine()))
    print(
        f"parameters: sizes {', '.join(label(s) for s in sizes)} (max = HELPDESK_MAX_MAIL_BYTES "
        f"{settings.max_mail_bytes}); MIME depth {settings.max_mime_depth}, parts "
        f"{settings.max_mime_parts}; budget {args.budget} s; repeat {args.repeat} below 1 MB; "
        f"parser {mail.__file__}"
    )
    width = max(len(c) for c in chosen)
    head = " | ".join(f"{label(s):>9}" for s in sizes)
    print(f"\n{'shape':<{width}} | {head} | growth | max stall | outcome at the largest size")
    print("-" * (width + 12 * len(sizes) + 50))
    for case in chosen:
        run = parser(mail, case, settings.max_mime_depth, settings.max_mime_parts)
        cells: list[str] = []
        times: list[tuple[int, float]] = []
        stall, outcome = 0.0, ""
        for size in sizes:
            guess = predicted(times, size)
            if guess > args.budget:
                cells.append(f"{f'(~{guess:.0f}s)':>9}")
                continue
            raw = CASES[case](size)
            runs = [await timed(run, raw) for _ in range(args.repeat if size < 1e6 else 1)]
            elapsed, stall, outcome = min(runs)
            times.append((len(raw), elapsed))
            cells.append(f"{elapsed:8.3f}s")
        growth = "    -"
        if len(times) >= 2:
            (small, t_small), (big, t_big) = times[-2], times[-1]
            growth = f"{(t_big / max(t_small, 1e-6)) / (big / small):5.2f}"
        print(
            f"{case:<{width}} | {' | '.join(cells)} | {growth:>6} | {stall * 1000:7.1f} ms"
            f" | {outcome[:70]}"
        )
    print(
        "\ngrowth: (time ratio) / (size ratio) over the last two sizes measured; 1 is linear,"
        " 10 per tenfold step is quadratic. (~N s): not run, estimated from that growth. max"
        " stall: the longest the event loop waited while the last parse ran in its worker thread."
    )


def main() -> None:
    parser_ = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser_.add_argument("--sizes", default="10k,100k,1m,max", help="message sizes; max = limit")
    parser_.add_argument("--cases", default="", help="comma-separated words picking shapes")
    parser_.add_argument("--module", default=None, help="another mail.py to time (before)")
    parser_.add_argument("--budget", type=float, default=60.0, help="longest run to try (s)")
    parser_.add_argument("--repeat", type=int, default=3, help="runs per size below 1 MB (min)")
    asyncio.run(bench(parser_.parse_args(), IntakeSettings()))


if __name__ == "__main__":
    main()
