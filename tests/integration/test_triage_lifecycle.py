"""Every move of the life cycle through triage's API on the real infrastructure: each allowed
one succeeds, each forbidden one is a 409 listing the allowed moves and changes nothing."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from services.triage.domain import ALLOWED
from shared.events.common import TicketStatus
from tests.helpers import Isolation, auth
from tests.integration.test_triage_work import clock, created, item_when, send, triage

pytestmark = pytest.mark.integration
S = TicketStatus
PATHS: dict[TicketStatus, list[TicketStatus]] = {
    S.OPEN: [],
    S.ASSIGNED: [S.ASSIGNED],
    S.IN_PROGRESS: [S.ASSIGNED, S.IN_PROGRESS],
    S.PENDING_CUSTOMER: [S.ASSIGNED, S.IN_PROGRESS, S.PENDING_CUSTOMER],
    S.RESOLVED: [S.RESOLVED],
    S.CLOSED: [S.RESOLVED, S.CLOSED],
    S.REOPENED: [S.RESOLVED, S.REOPENED],
}
__all__ = ["clock", "triage"]  # fixtures shared with the work tests


async def move(triage: httpx.AsyncClient, ticket_id: str, target: TicketStatus) -> httpx.Response:
    path = f"/v1/work-items/{ticket_id}"
    if target is S.RESOLVED:
        return await triage.post(f"{path}/resolve", json={"resolution": "done"}, headers=auth())
    if target is S.CLOSED:
        return await triage.post(f"{path}/close", json={}, headers=auth())
    body = {"status": target.value, "reason": "test"}
    return await triage.post(f"{path}/status", json=body, headers=auth())


async def test_every_allowed_move_succeeds_and_every_forbidden_one_is_refused(
    triage: httpx.AsyncClient, isolated: Isolation
) -> None:
    allowed = [(src, dst) for src in PATHS for dst in sorted(ALLOWED[src])]
    forbidden = {src: [dst for dst in S if dst not in ALLOWED[src]] for src in PATHS}
    tickets = [*allowed, *[(src, None) for src in forbidden]]
    await send(isolated, "intake", [created(n, "Help") for n in range(len(tickets))])
    outcomes: dict[tuple[str, str], Any] = {}
    for n, (src, dst) in enumerate(tickets):
        await item_when(triage, f"t-{n}", lambda i: i["status"] == "open", f"ticket {n}")
        for step in PATHS[src]:
            assert (await move(triage, f"t-{n}", step)).status_code == 200
        if dst is not None:
            answer = await move(triage, f"t-{n}", dst)
            outcomes[(src.value, dst.value)] = (answer.status_code, answer.json()["status"])
            continue
        for refused in forbidden[src]:
            answer = await move(triage, f"t-{n}", refused)
            body = answer.json()
            outcomes[(src.value, refused.value)] = (answer.status_code, body.get("allowed"))
        unchanged = await triage.get(f"/v1/work-items/t-{n}", headers=auth())
        assert unchanged.json()["status"] == src.value
    expected: dict[tuple[str, str], Any] = {(s.value, d.value): (200, d.value) for s, d in allowed}
    for src, targets in forbidden.items():
        listed = sorted(s.value for s in ALLOWED[src])
        for dst in targets:
            expected[(src.value, dst.value)] = (409, listed)
    assert outcomes == expected
