"""Advisory notices: published at their time by whichever replica gets there first (the
compare-and-set on the advisory's revision makes it once), withdrawable before. The round
reads the small live set of notices still to publish (store/records.py), not every advisory."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from shared.auth import Principal
from shared.errors import NotFound
from shared.events import Event
from shared.events.problems import (
    AdvisoryData,
    AdvisoryPublished,
)
from shared.paging import Position, Slice
from shared.periodic import every
from shared.records import BadRecord

from ..domain import notices as rules
from ..domain.notices import (
    Advisory,
    AdvisoryRequest,
)
from ..store import ADVISORIES, LATEST_PUBLISHED
from . import ProblemsDeps, change_record, get_record, insert_record, rewrite_record, who

UNWRITTEN = timedelta(minutes=1)  # a notice listed this long without its advisory was lost


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
    await schedule(advisory, deps)
    await publish_due(deps)
    return await get_advisory(advisory.id, deps)


async def schedule(advisory: Advisory, deps: ProblemsDeps, exists_ok: bool = False) -> bool:
    """Record a notice to publish; False when its id exists already (and `exists_ok`).

    It joins the live set of notices to publish before the advisory is written, so no
    scheduled advisory is ever missing from it (the round drops an entry whose advisory was
    never written)."""
    await deps.store.schedule_notice(advisory.id, advisory.publish_at, deps.clock.now())
    return await insert_record(ADVISORIES, advisory.id, advisory, [], deps, exists_ok=exists_ok)


async def reschedule_notices(deps: ProblemsDeps) -> None:
    """At start: every scheduled advisory is in the live set (those written before it
    existed, too); a pass over the small advisories collection."""
    for advisory in await deps.store.load_all(ADVISORIES, Advisory):
        if advisory.status == "scheduled":
            await deps.store.schedule_notice(advisory.id, advisory.publish_at, deps.clock.now())


async def get_advisory(advisory_id: str, deps: ProblemsDeps) -> Advisory:
    advisory: Advisory = await get_record(ADVISORIES, advisory_id, "advisory", deps)
    return advisory


async def list_advisories(
    deps: ProblemsDeps, limit: int, after: Position | None
) -> Slice[Advisory]:
    """The latest to be published first."""
    return await deps.store.page(ADVISORIES, Advisory, LATEST_PUBLISHED, limit, after)


async def withdraw_advisory(advisory_id: str, deps: ProblemsDeps) -> Advisory:
    def decide(advisory: Advisory) -> tuple[Advisory, list[Event[Any]]] | None:
        return rules.withdrawn(advisory), []

    advisory: Advisory = await change_record(ADVISORIES, advisory_id, "advisory", decide, deps)
    await deps.store.notice_done(advisory_id)
    return advisory


async def publish_due(deps: ProblemsDeps) -> int:
    """Publish the notices whose time has come; returns how many this call published."""
    now = deps.clock.now()
    published = 0
    for advisory_id, since in await deps.store.notices_due(now):
        try:
            published += await _publish(advisory_id, since, now, deps)
        except BadRecord:  # logged and counted; published once it is repaired
            continue
    return published


async def _publish(advisory_id: str, since: datetime, now: datetime, deps: ProblemsDeps) -> bool:
    def decide(current: Advisory) -> tuple[Advisory, list[Event[Any]]] | None:
        if not rules.due(current, now):
            return None
        after = current.model_copy(update={"status": "published", "published_at": now})
        event = AdvisoryPublished.create(
            source="problems", subject=after.id, time=now, data=advisory_data(after)
        )
        return after, [event]

    try:
        changed = await rewrite_record(ADVISORIES, advisory_id, "advisory", decide, deps)
    except NotFound:
        if now - since > UNWRITTEN:  # its writer stopped between the two writes
            await deps.store.notice_done(advisory_id)
        return False
    if changed.after.status != "scheduled":
        await deps.store.notice_done(advisory_id)
    return bool(changed.events)


async def run_notices(deps: ProblemsDeps, interval: float) -> None:
    await every(interval, lambda: publish_due(deps), "publishing due notices")
