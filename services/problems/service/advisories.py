"""Advisory notices: published at their time by whichever replica gets there first (the
revision claim makes it once), withdrawable before."""

from __future__ import annotations

from typing import Any

from shared.auth import Principal
from shared.events import Event
from shared.events.problems import (
    AdvisoryData,
    AdvisoryPublished,
)
from shared.periodic import every

from ..domain import notices as rules
from ..domain.notices import (
    Advisory,
    AdvisoryRequest,
)
from ..store import ADVISORIES
from . import ProblemsDeps, change_record, get_record, insert_record, who


def advisory_data(advisory: Advisory) -> AdvisoryData:
    audience = advisory.audience
    return AdvisoryData(
        advisory_id=advisory.id,
        title=advisory.title,
        kind=advisory.kind.value,
        organization_ids=audience.organization_ids,
        everyone=audience.everyone,
        sites=audience.sites,
        products=audience.products,
        body=advisory.body,
        starts_at=advisory.starts_at,
        ends_at=advisory.ends_at,
    )


async def schedule_advisory(
    request: AdvisoryRequest, by: Principal, deps: ProblemsDeps
) -> Advisory:
    advisory = rules.scheduled(await deps.store.next_id("ADV"), request, who(by), deps.clock.now())
    await insert_record(ADVISORIES, advisory.id, advisory, [], deps)
    await publish_due(deps)
    return await get_advisory(advisory.id, deps)


async def get_advisory(advisory_id: str, deps: ProblemsDeps) -> Advisory:
    advisory: Advisory = await get_record(ADVISORIES, advisory_id, "advisory", deps)
    return advisory


async def list_advisories(deps: ProblemsDeps) -> list[Advisory]:
    advisories = [Advisory.model_validate(d) for d in await deps.store.all(ADVISORIES)]
    return sorted(advisories, key=lambda a: (a.publish_at, a.id), reverse=True)


async def withdraw_advisory(advisory_id: str, deps: ProblemsDeps) -> Advisory:
    def decide(advisory: Advisory) -> tuple[Advisory, list[Event[Any]]] | None:
        return rules.withdrawn(advisory), []

    advisory: Advisory = await change_record(ADVISORIES, advisory_id, "advisory", decide, deps)
    return advisory


async def publish_due(deps: ProblemsDeps) -> int:
    """Publish the notices whose time has come; returns how many this call published."""
    now = deps.clock.now()
    published = 0
    for advisory in await list_advisories(deps):
        if not rules.due(advisory, now):
            continue

        def decide(current: Advisory) -> tuple[Advisory, list[Event[Any]]] | None:
            if not rules.due(current, now):
                return None
            after = current.model_copy(update={"status": "published", "published_at": now})
            event = AdvisoryPublished.create(
                source="problems", subject=after.id, time=now, data=advisory_data(after)
            )
            return after, [event]

        after: Advisory = await change_record(ADVISORIES, advisory.id, "advisory", decide, deps)
        if after.status == "published" and after.published_at == now:
            published += 1
    return published


async def run_notices(deps: ProblemsDeps, interval: float) -> None:
    await every(interval, lambda: publish_due(deps), "publishing due notices")
