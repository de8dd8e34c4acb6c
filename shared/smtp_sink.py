"""A real SMTP server on loopback that keeps what it receives: the local stand-in for a mail
relay. `python -m shared.smtp_sink --port 1025 --dir .local/mail` stores each message as .eml."""

from __future__ import annotations

import argparse
import signal
import socket
import threading
import uuid
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session


class MailSink:
    """aiosmtpd handler: every accepted message is kept in memory and, given a folder, on disk."""

    def __init__(self, folder: Path | None = None, refuse: bool = False) -> None:
        self.folder = folder
        self.refuse = refuse
        self.received: list[bytes] = []
        self._lock = threading.Lock()

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802 (aiosmtpd's hook name)
        if self.refuse:
            return "451 4.3.0 sink told to refuse"
        content = envelope.original_content or b""
        with self._lock:
            self.received.append(content)
        if self.folder is not None:
            self.folder.mkdir(parents=True, exist_ok=True)
            (self.folder / f"{uuid.uuid4().hex}.eml").write_bytes(content)
        return "250 2.0.0 kept"


def start(sink: MailSink, port: int = 0) -> Controller:
    """Start the sink on 127.0.0.1 (port 0: any free port; read it from controller.port)."""
    controller = Controller(sink, hostname="127.0.0.1", port=port or free_port())
    controller.start()
    return controller


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=1025)
    parser.add_argument("--dir", type=Path, default=Path(".local/mail"))
    args = parser.parse_args(argv)
    controller = start(MailSink(args.dir), args.port)
    print(f"SMTP sink on 127.0.0.1:{args.port}, keeping mail in {args.dir}", flush=True)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    controller.stop()


if __name__ == "__main__":
    main()
