"""SIGKILL services while tickets flow: after restart nothing is lost and nothing counted twice."""

from __future__ import annotations

import asyncio
import signal
from typing import Any

import httpx
import pytest

from shared.devstack import Stack
from shared.events import parse_event
from tests.helpers import Isolation, TopicReader, auth, wait_for

pytestmark = pytest.mark.e2e
TICKETS = 60
ARRIVAL_GAP = 0.05  # seconds between ticket arrivals while services are killed
VICTIMS = ("triage", "sla", "reporting")


async def post_tickets(stack: Stack, accepted: list[str], killed: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    start = loop.time()
    async with httpx.AsyncClient(timeout=10, headers=auth()) as http:
        for i in range(TICKETS):
            # Open-loop arrivals: ticket i is due ARRIVAL_GAP * i after the start.
            await asyncio.sleep(max(0.0, start + ARRIVAL_GAP * i - loop.time()))
            response = await http.post(
                f"{stack.url('intake')}/v1/tickets",
                json={
                    "subject": f"Fault drill {i}",
                    "requester": {"email": "drill@acme.example"},
                    "organization_id": "acme",
                },
            )
            assert response.status_code == 201, response.text
            accepted.append(response.json()["id"])
        await killed.wait()


async def kill_and_restart(stack: Stack, accepted: list[str], killed: asyncio.Event) -> None:
    for n, victim in enumerate(VICTIMS, start=1):
        await wait_for(lambda n=n: _at_least(accepted, n * TICKETS // 4), what="tickets flowing")
        await asyncio.to_thread(stack.kill, victim, signal.SIGKILL)
        stack.start(victim)
    killed.set()


async def test_killed_services_catch_up_without_losing_or_doubling_anything(
    system: tuple[Stack, Isolation],
) -> None:
    stack, iso = system
    accepted: list[str] = []
    killed = asyncio.Event()
    await asyncio.gather(
        post_tickets(stack, accepted, killed), kill_and_restart(stack, accepted, killed)
    )
    await asyncio.to_thread(stack.wait_ready, 90)

    async with httpx.AsyncClient(timeout=10, headers=auth()) as http:

        async def caught_up() -> dict[str, Any] | None:
            response = await http.get(f"{stack.url('reporting')}/v1/summary")
            summary: dict[str, Any] = response.json()
            counters = ("tickets_created", "tickets_triaged", "sla_clocks_started")
            return summary if all(summary[c] >= TICKETS for c in counters) else None

        # Every counter reaches N; one applied twice would overshoot it.
        summary = await wait_for(caught_up, within=120, what="every ticket counted")
        clocks = [await http.get(f"{stack.url('sla')}/v1/sla/clocks/{t}") for t in accepted]
    assert len(set(accepted)) == TICKETS
    assert summary["tickets_created"] == TICKETS
    assert summary["tickets_triaged"] == TICKETS
    assert summary["sla_clocks_started"] == TICKETS
    assert [c.status_code for c in clocks] == [200] * TICKETS

    async with TopicReader(iso.infra.kafka, iso.topic("triage"), iso.topic("sla")) as reader:
        await reader.read_until(
            lambda rs: _subjects(rs, "sla.clock_started") >= set(accepted), within=60
        )
    assert _subjects(reader.records, "ticket.triaged") == set(accepted)


def _subjects(records: list[Any], kind: str) -> set[str]:
    return {e.subject for e in map(lambda r: parse_event(r.value), records) if e.type == kind}


async def _at_least(items: list[str], n: int) -> bool:
    return len(items) >= n
