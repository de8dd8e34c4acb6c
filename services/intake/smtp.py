"""Intake's SMTP listener: mail handed over SMTP takes the path of POST /v1/inbound/email.

It runs on the service's own event loop, so a message is stored (as a ticket, a reply or a
quarantined item) before the sending server hears 250; when that cannot happen the answer is a
temporary 451 and the sender's queue keeps the message, so nothing is lost.
"""

from __future__ import annotations

import asyncio
import logging

from aiosmtpd.smtp import SMTP, Envelope, Session

from shared.bus import TRANSIENT_ERRORS

from .service import IntakeDeps
from .service.inbound import MailInProgress, Quarantined, receive_email

log = logging.getLogger(__name__)


class InboundHandler:
    """aiosmtpd handler: every accepted message goes through `receive_email`."""

    def __init__(self, deps: IntakeDeps) -> None:
        self._deps = deps

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802 (aiosmtpd's hook name)
        raw = envelope.original_content or b""
        try:
            outcome = await receive_email(raw, self._deps, envelope.rcpt_tos)
        except MailInProgress:
            return "451 4.3.0 the same message is being received right now, try again later"
        except TRANSIENT_ERRORS as exc:
            log.warning("inbound SMTP message deferred by an outage: %r", exc)
            return "451 4.3.0 temporarily unable to store the message, try again later"
        except Exception:  # the sender keeps the message and retries; we log why
            log.exception("inbound SMTP message could not be stored")
            return "451 4.3.0 message could not be stored, try again later"
        if isinstance(outcome, Quarantined):
            return f"250 2.0.0 held for review ({outcome.reason})"
        return f"250 2.0.0 {outcome.action} as {outcome.number}"


async def open_listener(deps: IntakeDeps, host: str, port: int, max_bytes: int) -> asyncio.Server:
    """Bind the listener at start-up, so a port in use stops the service with a clear error."""
    loop = asyncio.get_running_loop()
    handler = InboundHandler(deps)
    server = await loop.create_server(
        lambda: SMTP(handler, data_size_limit=max_bytes, hostname="switchboard-intake"),
        host=host,
        port=port,
    )
    log.info("SMTP listener on %s:%s", host, port)
    return server


async def serve(server: asyncio.Server) -> None:
    """Keep serving until the service stops and cancels this task."""
    try:
        await asyncio.Future()
    finally:
        server.close()
        await server.wait_closed()
