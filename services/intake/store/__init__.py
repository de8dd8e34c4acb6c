"""Intake's storage: tickets with their conversation and outbox and how they are listed,
customers and contracts, mail (ids, quarantine, notifications and their queue), blobs."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol

from shared.db import Database, Document, IndexSpec
from shared.deliveries import Attempt, DeliveryQueue, RetryPolicy
from shared.events import Event
from shared.paging import Position, Slice

from ..domain import Contract, Message, Organization, Ticket
from ..domain.notify import Notification
from .blobs import (
    BLOB_CHUNK,
    BLOBS,
    BlobStore,
    MongoBlobs,
    attachment_blob,
    held_blob,
    original_blob,
)
from .customers import CONTRACT_KEYS, CONTRACTS, CUSTOMER_INDEXES, ORGANIZATIONS, MongoCustomers
from .mail import (
    MAIL_IDS,
    MAIL_INDEXES,
    MAIL_QUEUE,
    NOTIFICATIONS,
    QUARANTINE,
    RELEASES,
    SEEN,
    MongoMailbox,
    MongoNotificationStore,
)
from .tickets import (
    NUMBERS,
    OPEN_TICKETS,
    OPENED_BY,
    ORG_TICKETS,
    STATUSES,
    TICKET_INDEXES,
    TICKETS,
    MongoTickets,
)

__all__ = [
    "BLOB_CHUNK",
    "BLOBS",
    "CONTRACT_KEYS",
    "CONTRACTS",
    "INDEXES",
    "MAIL_IDS",
    "MAIL_QUEUE",
    "NOTIFICATIONS",
    "NUMBERS",
    "OPEN_TICKETS",
    "OPENED_BY",
    "ORG_TICKETS",
    "ORGANIZATIONS",
    "QUARANTINE",
    "RELEASES",
    "SEEN",
    "STATUSES",
    "TICKETS",
    "BlobStore",
    "IntakeStore",
    "MongoBlobs",
    "MongoIntakeStore",
    "MongoNotificationStore",
    "NotificationStore",
    "RetryPolicy",
    "attachment_blob",
    "held_blob",
    "original_blob",
]

INDEXES: list[IndexSpec] = [*TICKET_INDEXES, *CUSTOMER_INDEXES, *MAIL_INDEXES]


class IntakeStore(Protocol):
    async def start(self) -> None: ...
    async def next_seq(self) -> int: ...
    async def insert_ticket(self, ticket: Ticket, events: Sequence[Event[Any]]) -> bool: ...
    async def get_ticket(self, ticket_id: str) -> Ticket | None: ...
    async def get_ticket_by_seq(self, seq: int) -> Ticket | None: ...
    async def list_tickets(
        self,
        organization_id: str | None,
        before_seq: int | None,
        limit: int,
        status: str | None = None,
    ) -> list[Ticket]: ...
    async def status_of(self, ticket_id: str) -> str | None: ...
    async def count_opened(self, sender: str, hour: str) -> int: ...
    async def record_status(self, ticket_id: str, status: str, at: datetime) -> None: ...
    async def insert_organization(self, org: Organization) -> str | None: ...
    async def get_organization(self, org_id: str) -> Organization | None: ...
    async def organization_for_domain(self, domain: str) -> Organization | None: ...
    async def organization_for_address(self, email: str) -> Organization | None: ...
    async def list_organizations(
        self, limit: int, after: str | None = None
    ) -> list[Organization]: ...
    async def insert_contract(self, contract: Contract) -> str | None: ...
    async def contract_by_key(self, kind: str, key: str) -> Contract | None: ...
    async def contracts_of(self, org_id: str) -> list[Contract]: ...
    async def contract_page(
        self, org_id: str, limit: int, after: Position | None
    ) -> Slice[Contract]: ...
    async def append_message(
        self, ticket_id: str, message: Message, events: Sequence[Event[Any]]
    ) -> bool: ...
    async def add_feedback(
        self, ticket_id: str, feedback: Document, events: Sequence[Event[Any]]
    ) -> bool: ...
    async def remember_mail_id(self, mail_id: str, ticket_id: str) -> None: ...
    async def ticket_for_mail_id(self, mail_id: str) -> str | None: ...
    async def first_sight(self, mail_id: str, digest: str) -> Document | None: ...
    async def claim_sighting(
        self, key: str, now: datetime, lease: timedelta, expiry: timedelta | None
    ) -> Document | None: ...
    async def settle_sighting(
        self, key: str, *, ticket_id: str | None = None, quarantined: str | None = None
    ) -> None: ...
    async def unclaim_sighting(self, key: str) -> None: ...
    async def quarantine(self, item: Document, events: Sequence[Event[Any]]) -> None: ...
    async def list_quarantine(
        self, limit: int, before: tuple[datetime, str] | None = None, kind: str | None = None
    ) -> list[Document]: ...
    async def get_quarantined(self, item_id: str) -> Document | None: ...
    async def claim_release(self, item_id: str, by: str, at: datetime) -> bool: ...
    async def unclaim_release(self, item_id: str) -> None: ...
    async def mark_released(self, item_id: str, ticket_id: str, by: str, at: datetime) -> None: ...


class NotificationStore(Protocol):
    async def queue_notification(self, note: Notification, at: datetime) -> bool: ...
    async def take(
        self, now: datetime, skip: Sequence[str]
    ) -> tuple[Attempt, Notification | None] | None: ...
    async def get_notification(self, notification_id: str) -> Notification | None: ...
    async def record_attempt(self, note: Notification) -> None: ...
    async def mark_failed(self, note: Notification, events: Sequence[Event[Any]]) -> None: ...
    async def settle(
        self, attempt: Attempt, note: Notification, events: Sequence[Event[Any]]
    ) -> None: ...
    async def notifications_of(
        self, about: str, key: str, limit: int, after: Position | None = None
    ) -> Slice[Notification]: ...

    queue: DeliveryQueue


class MongoIntakeStore(MongoTickets, MongoCustomers, MongoMailbox):
    def __init__(self, db: Database) -> None:
        MongoTickets.__init__(self, db)
        MongoCustomers.__init__(self, db)
        MongoMailbox.__init__(self, db)
