"""Intake's HTTP routes: thin, typed, no rules."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from shared.auth import CurrentUser, Principal, Role, require
from shared.events.common import Channel, Person, ServiceLevel
from shared.paging import Cursor, Limit, Page, decode_cursor, encode_cursor
from shared.runtime import app_deps

from . import service
from .domain import Contract, Message, OpenTicketRequest, Organization, Ticket
from .service import IntakeDeps

router = APIRouter(prefix="/v1", tags=["tickets"])
Deps = Annotated[IntakeDeps, Depends(app_deps)]
Admin = Annotated[Principal, Depends(require(Role.ADMIN, Role.SUPERVISOR))]


class TicketCreatedView(BaseModel):
    id: str
    number: str
    created_at: datetime


class TicketView(BaseModel):
    id: str
    number: str
    subject: str
    channel: Channel
    requester: Person
    organization_id: str | None
    contract_id: str | None
    service_level: ServiceLevel | None
    entitled: bool
    created_at: datetime
    messages: list[Message]

    @classmethod
    def of(cls, ticket: Ticket) -> TicketView:
        details = ticket.details
        return cls.model_validate(
            ticket.model_dump()
            | {
                "contract_id": details.contract_id,
                "service_level": details.service_level,
                "entitled": details.entitled,
            }
        )


@router.post("/tickets", status_code=201, response_model=TicketCreatedView)
async def create_ticket(
    body: OpenTicketRequest, user: CurrentUser, deps: Deps
) -> TicketCreatedView:
    """Record a request and give back its ticket number at once."""
    ticket = await service.open_ticket(body, user, deps)
    return TicketCreatedView(id=ticket.id, number=ticket.number, created_at=ticket.created_at)


@router.get("/tickets/{ref}", response_model=TicketView)
async def get_ticket(ref: str, user: CurrentUser, deps: Deps) -> TicketView:
    """A ticket with its conversation, by id or by number (HD-000123)."""
    return TicketView.of(await service.find_ticket(ref, user, deps))


@router.get("/tickets", response_model=Page[TicketView])
async def list_tickets(
    user: CurrentUser,
    deps: Deps,
    limit: Limit = 50,
    cursor: Cursor = None,
    organization_id: Annotated[str | None, Query(max_length=100)] = None,
) -> Page[TicketView]:
    """Tickets, newest first; customers see their own organisation's only."""
    before = decode_cursor(cursor)
    tickets = await service.list_tickets(
        user, organization_id, int(before) if before and before.isdigit() else None, limit, deps
    )
    nxt = encode_cursor(str(tickets[-1].seq)) if len(tickets) == limit else None
    return Page[TicketView](items=[TicketView.of(t) for t in tickets], next_cursor=nxt)


@router.post("/organizations", status_code=201, response_model=Organization)
async def add_organization(body: Organization, _: Admin, deps: Deps) -> Organization:
    """Register a customer organisation and the e-mail domains of its contacts."""
    return await service.add_organization(body, deps)


@router.get("/organizations", response_model=Page[Organization])
async def list_organizations(_: Admin, deps: Deps, limit: Limit = 100) -> Page[Organization]:
    """Customer organisations, by key."""
    return Page[Organization](items=await deps.store.list_organizations(limit))


@router.get("/organizations/{org_id}", response_model=Organization)
async def get_organization(org_id: str, user: CurrentUser, deps: Deps) -> Organization:
    """One organisation; a customer sees only its own."""
    return await service.get_organization(org_id, user, deps)


@router.post("/contracts", status_code=201, response_model=Contract)
async def add_contract(body: Contract, _: Admin, deps: Deps) -> Contract:
    """Record a support contract with its service level and validity."""
    return await service.add_contract(body, deps)


@router.get("/organizations/{org_id}/contracts", response_model=list[Contract])
async def list_contracts(org_id: str, user: CurrentUser, deps: Deps) -> list[Contract]:
    """An organisation's contracts."""
    return await service.contracts_of(org_id, user, deps)
