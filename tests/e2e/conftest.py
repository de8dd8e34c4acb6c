"""The five services as separate processes on loopback, isolated by topic and database prefix."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from shared.devstack import WITH_CONSOLE, Stack, backend_urls, load_console_accounts, load_demo
from shared.smtp_sink import MailSink
from shared.topics import SERVICES
from tests.helpers import SECRET, Infra, Isolation

E2E_PORTS = {
    "console": 18000,
    "intake": 18001,
    "triage": 18002,
    "sla": 18003,
    "problems": 18004,
    "reporting": 18005,
}
CONSOLE_PASSWORD = "e2e console password"


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


async def start_stack(
    iso: Isolation, log_dir: Path, smtp_port: int, console: bool = False
) -> Stack:
    env = iso.env(
        HELPDESK_SMTP_PORT=str(smtp_port),
        HELPDESK_REPLY_TOKEN_SECRET="e2e reply key",
        **(backend_urls(E2E_PORTS) if console else {}),
    )
    services = WITH_CONSOLE if console else SERVICES
    stack = Stack(env, ports=E2E_PORTS, log_dir=log_dir, services=services)
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


@pytest.fixture
async def workspace(
    infra: Infra, tmp_path: Path, mail_sink: tuple[MailSink, int]
) -> AsyncIterator[tuple[Stack, Isolation]]:
    """The five services and the console as processes, with the demo data loaded and the
    demo's console accounts (password CONSOLE_PASSWORD)."""
    iso = Isolation(infra)
    stack = await start_stack(iso, tmp_path / "logs", mail_sink[1], console=True)
    try:
        await asyncio.to_thread(load_demo, stack, SECRET)
        await asyncio.to_thread(load_console_accounts, stack, CONSOLE_PASSWORD)
        yield stack, iso
    finally:
        stack.stop_all()
        await iso.cleanup()
