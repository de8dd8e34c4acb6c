"""/readyz on the real broker and FerretDB: a service whose consumer dead-letters every message it
reads is reported not ready (the consumer check), and ready again once it handles one."""

from __future__ import annotations

from typing import Any

import pytest

from services.triage.app import TriageSettings, create_app
from shared.clock import FixedClock
from tests.helpers import Isolation, in_process, produce, wait_for
from tests.integration.test_triage_work import START, created, send

pytestmark = pytest.mark.integration


async def test_readiness_fails_while_the_consumer_dead_letters_everything(
    isolated: Isolation, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = isolated.env(HELPDESK_DEAD_LETTER_STREAK_UNREADY="2", HELPDESK_HANDLER_ATTEMPTS="1")
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    async with in_process(create_app(TriageSettings(), FixedClock(START))) as triage:

        async def readiness(ready: bool) -> dict[str, Any] | None:
            response = await triage.get("/readyz")
            body: dict[str, Any] = response.json()
            return body if body["ready"] is ready else None

        before = await wait_for(lambda: readiness(True), what="triage ready")
        assert before["checks"] == {"mongodb": True, "kafka": True, "consumer": True}
        for n in range(2):
            await produce(isolated.infra.kafka, isolated.topic("intake"), f"x{n}", b"[1, 2]")
        failing = await wait_for(lambda: readiness(False), what="the consumer reported failing")
        assert failing["checks"]["consumer"] is False and failing["checks"]["kafka"] is True
        assert (await triage.get("/readyz")).status_code == 503
        await send(isolated, "intake", [created(7)])
        await wait_for(lambda: readiness(True), what="ready again after one handled event")
