"""The five services as separate processes on loopback, isolated by topic and database prefix."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from shared.devstack import Stack
from shared.smtp_sink import MailSink
from tests.helpers import Infra, Isolation

E2E_PORTS = {"intake": 18001, "triage": 18002, "sla": 18003, "problems": 18004, "reporting": 18005}


@dataclass
class Figures:
    """What schemathesis did to one service (test_schemathesis.py)."""

    operations: set[str] = field(default_factory=set)
    failing: set[str] = field(default_factory=set)
    requests: int = 0
    server_errors: int = 0
    before: tuple[int, int] = (0, 0)


FIGURES = pytest.StashKey[dict[str, Figures]]()


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    found = config.stash.get(FIGURES, {})
    if not found:
        return
    terminalreporter.section("schemathesis")
    terminalreporter.write_line("service     operations  requests  failing operations  5xx")
    for service, f in found.items():
        terminalreporter.write_line(
            f"{service:<11} {len(f.operations):>10}  {f.requests:>8}  {len(f.failing):>18}  "
            f"{f.server_errors:>3}"
        )
        for label in sorted(f.failing):
            terminalreporter.write_line(f"    failing: {label}")


async def start_stack(iso: Isolation, log_dir: Path, smtp_port: int) -> Stack:
    env = iso.env(HELPDESK_SMTP_PORT=str(smtp_port), HELPDESK_REPLY_TOKEN_SECRET="e2e reply key")
    stack = Stack(env, ports=E2E_PORTS, log_dir=log_dir)
    stack.start_all()
    try:
        await asyncio.to_thread(stack.wait_ready, 90)
    except Exception:
        stack.stop_all()
        raise
    return stack


@pytest.fixture
async def system(
    infra: Infra, tmp_path: Path, mail_sink: tuple[MailSink, int]
) -> AsyncIterator[tuple[Stack, Isolation]]:
    iso = Isolation(infra)
    stack = await start_stack(iso, tmp_path / "logs", mail_sink[1])
    try:
        yield stack, iso
    finally:
        stack.stop_all()
        await iso.cleanup()
