"""The five services as separate processes on loopback, isolated by topic and database prefix."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from shared.devstack import Stack
from shared.smtp_sink import MailSink
from tests.helpers import Infra, Isolation

E2E_PORTS = {"intake": 18001, "triage": 18002, "sla": 18003, "problems": 18004, "reporting": 18005}


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
