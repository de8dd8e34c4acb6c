"""Intake: every contact becomes a numbered ticket; run with
`uvicorn services.intake.app:create_app --factory`."""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from email.utils import parseaddr
from functools import partial
from typing import Any, Literal

from fastapi import FastAPI
from pydantic import Field, field_validator

from shared.clock import Clock
from shared.runtime import Runtime, ServiceSpec, create_service_app
from shared.settings import ServiceSettings

from .api import router
from .domain import FileLimits, email_domain
from .domain.answers import phrases_from
from .domain.mail import SpamRule
from .domain.replies import ReplyTokens
from .handlers import subscribe
from .service import IntakeDeps
from .service.notify import Mailer, SmtpConfig
from .smtp import open_listener, serve
from .store import (
    INDEXES,
    NOTIFICATIONS,
    QUARANTINE,
    TICKETS,
    MongoBlobs,
    MongoIntakeStore,
    MongoNotificationStore,
)

TRANSPORT_FACTOR = 4
log = logging.getLogger(__name__)


MailPolicy = Literal["ticket", "quarantine"]


def _policy(kind: str, default: str, what: str) -> Any:
    """A kind of automated mail: a ticket no automatic notice answers, or held for review."""
    return Field(
        default=default,
        validation_alias=f"HELPDESK_MAIL_{kind}",
        description=f"{what}: a ticket never auto-answered (ticket), or held (quarantine)",
    )


class IntakeSettings(ServiceSettings):
    service_name: str = "intake"
    http_port: int = Field(default=8001, validation_alias="HTTP_PORT")
    mail_domain: str = Field(
        default="helpdesk.switchboard.example",
        validation_alias="HELPDESK_MAIL_DOMAIN",
        description="Our mail domain: Message-IDs, and loops of our own notifications",
    )
    smtp_host: str = Field(default="127.0.0.1", validation_alias="HELPDESK_SMTP_HOST")
    smtp_port: int = Field(default=1025, validation_alias="HELPDESK_SMTP_PORT")
    mail_from: str = Field(
        default="Switchboard support <support@helpdesk.switchboard.example>",
        validation_alias="HELPDESK_MAIL_FROM",
    )
    smtp_listen_host: str = Field(default="127.0.0.1", validation_alias="HELPDESK_SMTP_LISTEN_HOST")
    smtp_listen_port: int = Field(
        default=2525,
        ge=0,
        validation_alias="HELPDESK_SMTP_LISTEN_PORT",
        description="Inbound mail over SMTP; 0 turns the listener off",
    )
    max_mail_bytes: int = Field(
        default=10 * 1_048_576,
        ge=1024,
        validation_alias="HELPDESK_MAX_MAIL_BYTES",
        description=(
            "Largest inbound message taken into a ticket; bigger ones are quarantined as "
            f"oversized, and above {TRANSPORT_FACTOR} times this SMTP refuses them (552) "
            "and the HTTP gateway too (413)"
        ),
    )
    max_attachment_bytes: int = Field(
        default=5 * 1_048_576, ge=1, validation_alias="HELPDESK_MAX_ATTACHMENT_BYTES"
    )
    max_attachments: int = Field(default=20, ge=0, validation_alias="HELPDESK_MAX_ATTACHMENTS")
    max_mime_depth: int = Field(
        default=20,
        ge=1,
        validation_alias="HELPDESK_MAX_MIME_DEPTH",
        description="Deepest nesting of MIME parts opened; deeper mail is quarantined",
    )
    max_mime_parts: int = Field(
        default=500,
        ge=1,
        validation_alias="HELPDESK_MAX_MIME_PARTS",
        description="Most MIME parts (attached messages' included) opened; more: quarantined",
    )
    stranger_mail: Literal["new_ticket", "quarantine"] = Field(
        default="new_ticket",
        validation_alias="HELPDESK_STRANGER_MAIL",
        description="Mail into a ticket from someone who is neither a participant nor a "
        "contact of its customer: a new linked ticket, or held for review",
    )
    mail_storm_limit: int = Field(
        default=20,
        ge=0,
        validation_alias="HELPDESK_MAIL_STORM_LIMIT",
        description="New tickets one sender may open by mail per hour; more are held (0: off)",
    )

    reply_token_secret: str = Field(
        default="",
        validation_alias="HELPDESK_REPLY_TOKEN_SECRET",
        description="Signs the reply token of every notice; unset: no tokens are issued or "
        "accepted, and replies join tickets only as their sender and subject number allow",
    )
    mail_authserv_ids: str = Field(
        default="",
        validation_alias="HELPDESK_MAIL_AUTHSERV_IDS",
        description="Comma-separated authserv-ids of the receiving mail servers whose "
        "Authentication-Results are read (the mail domain always counts)",
    )
    duplicate_window_hours: float = Field(
        default=24.0,
        ge=0,
        validation_alias="HELPDESK_MAIL_DUPLICATE_WINDOW_HOURS",
        description="A message without a Message-ID received again within this many hours "
        "with the same content is a duplicate",
    )

    mail_bulk: MailPolicy = _policy("BULK", "ticket", "Bulk mail (Precedence: bulk or junk)")
    mail_list: MailPolicy = _policy("LIST", "ticket", "Mailing-list mail (List-Id, …)")
    mail_null_sender: MailPolicy = _policy("NULL_SENDER", "ticket", "Null-sender mail")
    mail_auto_reply: MailPolicy = _policy("AUTO_REPLY", "quarantine", "Auto-replies")
    spam_score_header: str = Field(
        default="",
        max_length=100,
        validation_alias="HELPDESK_MAIL_SPAM_SCORE_HEADER",
        description="A spam filter's score header (X-Spam-Score, X-Rspamd-Score); over the "
        "threshold the mail is held as spam, as with X-Spam-Flag: YES",
    )
    spam_threshold: float = Field(default=5.0, validation_alias="HELPDESK_MAIL_SPAM_THRESHOLD")
    answer_phrases: str = Field(
        default="",
        max_length=65_536,
        validation_alias="HELPDESK_ANSWER_PHRASES",
        description='How answers to "may we close it?" are read: JSON {"confirms": {"en": '
        '[...]}, "thanks": {...}, "denies": {...}}, a language given replacing its built-in list',
    )

    @field_validator("answer_phrases")
    @classmethod
    def _phrases_parse(cls, value: str) -> str:
        phrases_from(value)  # a malformed setting stops the service at start, with the reason
        return value

    @property
    def transport_limit(self) -> int:
        return TRANSPORT_FACTOR * self.max_mail_bytes

    notify_attempts: int = Field(default=5, ge=1, validation_alias="HELPDESK_NOTIFY_ATTEMPTS")
    notify_backoff_seconds: float = Field(
        default=5.0, ge=0, validation_alias="HELPDESK_NOTIFY_BACKOFF_SECONDS"
    )


async def build(runtime: Runtime) -> IntakeDeps:
    store = MongoIntakeStore(runtime.db)
    settings = runtime.settings
    assert isinstance(settings, IntakeSettings), "intake runs with IntakeSettings"
    await store.start()
    smtp = SmtpConfig(
        settings.smtp_host,
        settings.smtp_port,
        settings.mail_from,
        settings.notify_attempts,
        settings.notify_backoff_seconds,
    )
    notes = MongoNotificationStore(runtime.db, smtp.policy())
    deps = IntakeDeps(
        store=store,
        notes=notes,
        relay=runtime.relay,
        clock=runtime.clock,
        blobs=MongoBlobs(runtime.db),
        mail_domain=settings.mail_domain,
        max_mail_bytes=settings.max_mail_bytes,
        file_limits=FileLimits(
            settings.max_attachment_bytes,
            settings.max_attachments,
            settings.max_mime_depth,
            settings.max_mime_parts,
        ),
        stranger_mail=settings.stranger_mail,
        storm_limit=settings.mail_storm_limit,
        tokens=ReplyTokens(settings.reply_token_secret.encode()),
        reply_domains=(
            email_domain(parseaddr(settings.mail_from)[1]) or settings.mail_domain,
            settings.mail_domain,
        ),
        trusted_authserv_ids=(
            settings.mail_domain,
            *(i.strip() for i in settings.mail_authserv_ids.split(",") if i.strip()),
        ),
        duplicate_window_hours=settings.duplicate_window_hours,
        automated_mail={
            "bulk": settings.mail_bulk,
            "list": settings.mail_list,
            "null_sender": settings.mail_null_sender,
            "auto_reply": settings.mail_auto_reply,
        },
        spam=SpamRule(settings.spam_score_header.strip(), settings.spam_threshold),
        answer_phrases=phrases_from(settings.answer_phrases),
    )
    if not deps.tokens.enabled:
        log.warning(
            "HELPDESK_REPLY_TOKEN_SECRET is unset: notices carry no reply token, and a reply "
            "joins its ticket only from a participant naming its number"
        )
    subscribe(runtime.consumer, deps)
    deps.loops.append(Mailer(notes, runtime.relay, runtime.clock, smtp, deps.mail_due).run)
    if settings.smtp_listen_port:
        server = await open_listener(
            deps, settings.smtp_listen_host, settings.smtp_listen_port, settings.transport_limit
        )
        deps.loops.append(partial(serve, server))
    return deps


def loops(deps: IntakeDeps) -> list[Callable[[], Coroutine[Any, Any, None]]]:
    return deps.loops


SPEC = ServiceSpec(
    title="Switchboard intake",
    description="Requests by e-mail, web, phone and chat become tickets with a number.",
    routers=[router],
    build=build,
    outbox_collections=[TICKETS, QUARANTINE, NOTIFICATIONS],
    consumes=["intake", "triage", "sla", "problems"],
    tasks=loops,
    indexes=INDEXES,
    body_limits=lambda settings: {
        "/v1/inbound/email": settings.transport_limit,
        # files come base64-encoded in JSON (a third larger), as much as a mail may carry
        r"/v1/tickets(/[^/]+/messages)?": settings.max_body_bytes
        + settings.max_mail_bytes * 4 // 3,
    },
)


def create_app(settings: IntakeSettings | None = None, clock: Clock | None = None) -> FastAPI:
    return create_service_app(settings or IntakeSettings(), SPEC, clock)
