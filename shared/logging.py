"""JSON log lines that carry the service, ticket_id and correlation_id of the work at hand."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from pythonjsonlogger.json import JsonFormatter

ticket_id_var: ContextVar[str | None] = ContextVar("ticket_id", default=None)
correlation_id_var: ContextVar[str | None] = ContextVar("correlation_id", default=None)


class _ContextFilter(logging.Filter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def filter(self, record: logging.LogRecord) -> bool:
        record.service = self.service
        record.ticket_id = ticket_id_var.get()
        record.correlation_id = correlation_id_var.get()
        return True


def configure_logging(service: str, level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.addFilter(_ContextFilter(service))
    handler.setFormatter(
        JsonFormatter(
            "%(asctime)s %(levelname)s %(name)s %(message)s %(service)s %(ticket_id)s "
            "%(correlation_id)s",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("aiokafka", "pymongo", "uvicorn.access", "mail.log"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # FastStream gives its own logger a coloured handler and stops propagation: JSON lines instead.
    faststream = logging.getLogger("faststream")
    faststream.handlers.clear()
    faststream.propagate = True


@contextmanager
def log_context(ticket_id: str | None, correlation_id: str | None) -> Iterator[None]:
    t1 = ticket_id_var.set(ticket_id)
    t2 = correlation_id_var.set(correlation_id)
    try:
        yield
    finally:
        ticket_id_var.reset(t1)
        correlation_id_var.reset(t2)
