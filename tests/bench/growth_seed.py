"""Seeding one ticket into reporting's (and sla's) read models for bench_growth.py, as the live
consumers would have left them, but in a few database operations a ticket.

Reporting: the ticket's events (created, triaged, assigned, clock started; resolved and closed
4 hours later unless it stays open) are folded through reporting's own rules (facts.applied),
and the fact document is written once through its store, which lists it in the hour buckets of
its times and, while open, in the live set of facts never closed (store/fact_index.py). The
trouble-calls report reads nothing else (no counters); the ticket's site is kept once per
organisation for site-status. A closed ticket costs two writes (buckets, fact), an open one
three (and the bounds of the buckets once an hour).
"""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from services.reporting.domain import stream_key
from services.reporting.facts import FactDocument, Position, applied
from services.reporting.store import MongoFactStore
from services.sla.domain.calendar import always_on
from services.sla.domain.clock import resolved, start
from services.sla.domain.policies import default_policies, policy_id
from services.sla.store import MongoClockStore
from shared.events import Event
from shared.events.common import Channel, Person, Priority, ServiceLevel
from shared.events.intake import TicketCreated, TicketCreatedData
from shared.events.sla import SlaClockStarted, SlaClockStartedData
from shared.events.triage import (
    TicketAssigned,
    TicketAssignedData,
    TicketClosed,
    TicketClosedData,
    TicketResolved,
    TicketResolvedData,
    TicketTriaged,
    TicketTriagedData,
)

OPEN_FOR = timedelta(hours=4)
_stores: dict[int, tuple[AsyncDatabase[Any], MongoFactStore]] = {}
_sites: set[tuple[str, str]] = set()
_offsets = itertools.count()


def _store(db: AsyncDatabase[Any]) -> MongoFactStore:
    """One store per database, so its knowledge of the buckets' bounds is kept between calls
    (the database is held too, so its id is not reused)."""
    if id(db) not in _stores:
        _stores[id(db)] = (db, MongoFactStore(db))
    return _stores[id(db)][1]


def _events(ticket_id: str, org: str, at: datetime, open_: bool) -> list[Event[Any]]:
    one = {"ticket_id": ticket_id, "number": f"HD-{ticket_id[:8]}"}  # intake's number not given
    created = TicketCreatedData(
        **one,
        subject="Replication lag",
        channel=Channel.WEB,
        requester=Person(email=f"user@{org}.example"),
        organization_id=org,
        entitled=True,
        created_at=at,
    )
    triaged = TicketTriagedData(
        **one,
        type="incident",
        impact="medium",
        urgency="high",
        priority="high",
        queue="operations",
        tier=1,
        status="open",
        organization_id=org,
        entitled=True,
    )
    started = SlaClockStartedData(
        **one, policy_id="bronze/high", priority="high", calendar_id="office", targets=[]
    )
    assigned = TicketAssignedData(**one, assignee="tom.first", queue="operations", tier=1)
    events: list[Event[Any]] = [
        TicketCreated.create(source="intake", subject=ticket_id, time=at, data=created),
        TicketTriaged.create(source="triage", subject=ticket_id, time=at, data=triaged),
        SlaClockStarted.create(source="sla", subject=ticket_id, time=at, data=started),
        TicketAssigned.create(source="triage", subject=ticket_id, time=at, data=assigned),
    ]
    if not open_:
        done = at + OPEN_FOR
        resolved = TicketResolvedData(**one, resolution="replication restarted")
        closed = TicketClosedData(**one, reason="quiet period")
        events += [
            TicketResolved.create(source="triage", subject=ticket_id, time=done, data=resolved),
            TicketClosed.create(source="triage", subject=ticket_id, time=done, data=closed),
        ]
    return events


async def seed_reporting(
    db: AsyncDatabase[Any], ticket_id: str, org: str, at: datetime, open_: bool
) -> None:
    """Reporting's read models for one ticket created at `at` (resolved and closed 4 hours
    later unless `open_`), as the live consumer would have written them."""
    doc = FactDocument()
    for event in _events(ticket_id, org, at, open_):
        stream = stream_key(f"helpdesk.{event.source}.v1", 0)
        doc = applied(doc, event, Position(stream, next(_offsets))) or doc
    store = _store(db)
    await store.put(ticket_id, None, doc)
    if (db.name, org) not in _sites:
        await store.add_site(org, "-")
        _sites.add((db.name, org))


async def seed_sla(db: AsyncDatabase[Any], ticket_id: str, at: datetime, open_: bool) -> None:
    """The ticket's clock (silver/high on the 24x7 calendar), started at `at` and, unless it
    stays open, stopped 4 hours later, written through sla's own store. No timer is filed: the
    benchmark reads clocks, it does not wait for breaches."""
    calendar = always_on()
    policy = default_policies()[policy_id(ServiceLevel.SILVER, Priority.HIGH)]
    clock = start(ticket_id, None, policy, calendar, at)
    if not open_:
        clock, _ = resolved(clock, calendar, at + OPEN_FOR)
    await MongoClockStore(db).insert_clock(clock, [])
