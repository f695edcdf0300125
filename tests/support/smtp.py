"""A real SMTP server on loopback (aiosmtpd) that keeps what it receives, for mail tests."""

from __future__ import annotations

import email
import socket
import threading
from dataclasses import dataclass
from email.message import Message
from types import TracebackType
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope


@dataclass(frozen=True)
class ReceivedMail:
    sender: str
    recipients: list[str]
    message: Message

    @property
    def body(self) -> str:
        payload = self.message.get_payload(decode=True)
        assert isinstance(payload, bytes)
        return payload.decode()


class _Handler:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.received: list[ReceivedMail] = []

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Envelope) -> str:
        content = envelope.content if isinstance(envelope.content, bytes) else b""
        mail = ReceivedMail(
            str(envelope.mail_from),
            [str(r) for r in envelope.rcpt_tos],
            email.message_from_bytes(content),
        )
        with self.lock:
            self.received.append(mail)
        return "250 OK"


def _free_port() -> int:
    """aiosmtpd probes its own port after starting, so it needs a real number, not 0."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class LoopbackSmtp:
    """``with LoopbackSmtp() as smtp: … smtp.port … smtp.messages``"""

    def __init__(self) -> None:
        self._handler = _Handler()
        self.port = _free_port()
        self._controller = Controller(self._handler, hostname="127.0.0.1", port=self.port)

    def __enter__(self) -> LoopbackSmtp:
        self._controller.start()
        return self

    def __exit__(
        self, _t: type[BaseException] | None, _e: BaseException | None, _tb: TracebackType | None
    ) -> None:
        self._controller.stop()

    @property
    def messages(self) -> list[ReceivedMail]:
        with self._handler.lock:
            return list(self._handler.received)
