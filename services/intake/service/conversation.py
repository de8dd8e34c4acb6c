"""The conversation on a ticket: agents' replies and notes, customers' replies, feedback."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

from shared.auth import Principal
from shared.errors import Conflict, Forbidden, NotFound
from shared.events import Event
from shared.events.common import AuthorType, Person, TicketStatus, Visibility
from shared.events.intake import (
    TicketCustomerReplied,
    TicketCustomerRepliedData,
    TicketFeedbackReceived,
    TicketFeedbackReceivedData,
    TicketMessageAdded,
    TicketMessageAddedData,
)

from ..domain import AddMessageRequest, AttachmentInfo, FeedbackRequest, Message, Ticket
from ..domain.answers import Intent, read_answer
from ..store import TICKETS, attachment_blob, original_blob
from . import IntakeDeps, find_ticket, keep_uploads


async def add_message(
    ref: str, request: AddMessageRequest, user: Principal, deps: IntakeDeps
) -> Message:
    """An agent's reply or internal note, or the customer's reply; announced on the stream."""
    ticket = await find_ticket(ref, user, deps)
    author_type = AuthorType.AGENT if user.is_staff else AuthorType.CUSTOMER
    if author_type is AuthorType.CUSTOMER and request.visibility is Visibility.INTERNAL:
        raise Forbidden("customers cannot write internal notes")
    message_id = str(uuid4())
    message = Message(
        id=message_id,
        author_type=author_type,
        author=Person(email=user.email, name=user.name, subject_id=user.sub),
        visibility=request.visibility,
        channel=request.channel,
        body=request.body,
        created_at=deps.clock.now(),
        attachments=await keep_uploads(message_id, request.attachments, deps),
    )
    await append(ticket, message, deps)
    return message


async def append(
    ticket: Ticket, message: Message, deps: IntakeDeps, status: str | None = None
) -> Intent:
    """Store a message on its ticket with ticket.message_added (and customer_replied, which
    says what a customer's answer to a resolved ticket means: see domain/answers.py).
    `status`: the ticket's, when the caller has read it already."""
    intent: Intent = "reply"
    if message.author_type is AuthorType.CUSTOMER:
        if (status or await deps.store.status_of(ticket.id)) == TicketStatus.RESOLVED:
            intent = read_answer(message.body, deps.answer_phrases)
    now = deps.clock.now()
    events: list[Event[Any]] = [
        TicketMessageAdded.create(
            source="intake",
            subject=ticket.id,
            time=now,
            data=TicketMessageAddedData(
                ticket_id=ticket.id,
                number=ticket.number,
                message_id=message.id,
                author_type=message.author_type,
                author=message.author,
                visibility=message.visibility,
                channel=message.channel,
                body=message.body,
            ),
        )
    ]
    if message.author_type is AuthorType.CUSTOMER:
        events.append(
            TicketCustomerReplied.create(
                source="intake",
                subject=ticket.id,
                time=now,
                data=TicketCustomerRepliedData(
                    ticket_id=ticket.id,
                    number=ticket.number,
                    message_id=message.id,
                    author=message.author,
                    channel=message.channel,
                    intent=intent,
                ),
            )
        )
    async with deps.relay.writing(TICKETS, ticket.id):
        if not await deps.store.append_message(ticket.id, message, events):
            raise NotFound(f"no ticket {ticket.id}")
    return intent


async def give_feedback(
    ref: str, request: FeedbackRequest, user: Principal, deps: IntakeDeps
) -> TicketFeedbackReceivedData:
    """The customer's rating of how the ticket was handled."""
    ticket = await find_ticket(ref, user, deps)
    if request.confirms_resolution:
        status = await deps.store.status_of(ticket.id)
        if status != TicketStatus.RESOLVED:
            shown = status or "not yet triaged"
            raise Conflict(f"{ticket.number} is {shown}: only a resolved ticket can be confirmed")
    author = Person(email=user.email, name=user.name, subject_id=user.sub)
    data = TicketFeedbackReceivedData(
        ticket_id=ticket.id,
        number=ticket.number,
        rating=request.rating,
        comment=request.comment,
        author=author,
        confirms_resolution=request.confirms_resolution,
    )
    now = deps.clock.now()
    event = TicketFeedbackReceived.create(source="intake", subject=ticket.id, time=now, data=data)
    async with deps.relay.writing(TICKETS, ticket.id):
        stored = {**data.model_dump(mode="json"), "at": now}
        if not await deps.store.add_feedback(ticket.id, stored, [event]):
            raise NotFound(f"no ticket {ticket.id}")
    return data


def visible(ticket: Ticket, user: Principal) -> list[Message]:
    """The conversation as this reader may see it: customers never see internal notes."""
    if user.is_staff:
        return ticket.messages
    return [m for m in ticket.messages if m.visibility is Visibility.PUBLIC]


async def read_attachment(
    ref: str, attachment_id: str, user: Principal, deps: IntakeDeps
) -> tuple[AttachmentInfo, bytes]:
    ticket = await find_ticket(ref, user, deps)
    for message in visible(ticket, user):
        for info in message.attachments:
            if info.id == attachment_id and info.stored:
                content = await deps.blobs.get_blob(attachment_blob(info.id))
                if content is not None:
                    return info, content
    raise NotFound(f"no stored attachment {attachment_id} on ticket {ref}")


async def read_original(ref: str, message_id: str, user: Principal, deps: IntakeDeps) -> bytes:
    ticket = await find_ticket(ref, user, deps)
    for message in visible(ticket, user):
        if message.id == message_id and message.raw_size is not None:
            raw = await deps.blobs.get_blob(original_blob(message.id))
            if raw is not None:
                return raw
    raise NotFound(f"no original e-mail for message {message_id} on ticket {ref}")
