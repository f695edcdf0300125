"""A loopback stand-in for the 46elks SMS API, for tests that send over real HTTP.

It serves ``POST /a1/sms`` on 127.0.0.1 (a free port) from a background thread and
behaves like the documented API (https://46elks.se/docs,
https://46elks.se/docs/sms-delivery-reports, https://46elks.com/kb/text-sender-id):
HTTP basic auth, form fields ``from``/``to``/``message`` (+ ``whendelivered``,
``dontlog``, ``dryrun``), a JSON reply with ``id``, ``status``, ``parts``, ``cost`` …,
and short plain-text 4xx bodies for bad requests. The exact error wording of the real
service is not documented; the status codes and the shape are what tests rely on.

    with Fake46elks(username="u", password="p") as fake:
        gateway = FortySixElksGateway(username="u", password="p", sender="Kaiku",
                                      base_url=fake.base_url)
        fake.fail_next(2, 503)      # the next two requests get 503
        fake.hang_next(1)           # the next request is never answered
        fake.messages               # what was accepted, in order
        fake.send_receipt(fake.messages[0].id, "delivered")  # POST to whendelivered

A hung request is neither answered nor recorded: its connection is closed when
``hang_seconds`` have passed or the fake is closed.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import dataclasses
import json
import re
import threading
import uuid
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx

from server.messaging.gsm7 import segment_count
from server.settings import Settings

_E164 = re.compile(r"\+[1-9][0-9]{6,14}")
_TEXT_SENDER = re.compile(r"[A-Za-z][A-Za-z0-9]{2,10}")
_COST_PER_PART = 3500  # 0.35 in 10000ths of the account currency, as 46elks counts
_DEFAULT_BODIES = {
    401: "Authorization failed",
    402: "Not enough credits",
    403: "Forbidden",
    429: "Too many requests",
    500: "Internal server error",
    502: "Bad gateway",
    503: "Service unavailable",
}


@dataclass(frozen=True)
class ReceivedSms:
    """One SMS the fake accepted."""

    id: str
    sender: str
    to: str
    message: str
    whendelivered: str | None
    form: dict[str, str]


@dataclass(frozen=True)
class _Failure:
    status: int
    body: str
    retry_after: int | None


class Fake46elks:
    """The fake provider; use as a context manager (or call start() and close())."""

    def __init__(
        self, *, username: str = "test-user", password: str = "test-pass", hang_seconds: float = 5.0
    ) -> None:
        self.username = username
        self.password = password
        self.hang_seconds = hang_seconds
        self._lock = threading.Lock()
        self._messages: list[ReceivedSms] = []
        self._failures: deque[_Failure] = deque()
        self._hangs = 0
        self._requests = 0
        self._released = threading.Event()
        self._server = _Server(self)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    # lifecycle -------------------------------------------------------------------------
    def start(self) -> Fake46elks:
        self._thread.start()
        return self

    def close(self) -> None:
        self._released.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> Fake46elks:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # what tests read and steer ----------------------------------------------------------
    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/a1"

    @property
    def messages(self) -> list[ReceivedSms]:
        with self._lock:
            return list(self._messages)

    @property
    def request_count(self) -> int:
        """Every request that reached the fake, answered or not."""
        with self._lock:
            return self._requests

    def fail_next(
        self, n: int, status: int, body: str | None = None, *, retry_after: int | None = None
    ) -> None:
        """Answer the next `n` requests with `status` (before auth, like an outage would)."""
        text = body if body is not None else _DEFAULT_BODIES.get(status, f"Error {status}")
        with self._lock:
            self._failures.extend(_Failure(status, text, retry_after) for _ in range(n))

    def hang_next(self, n: int) -> None:
        """Leave the next `n` requests unanswered, so the client times out."""
        with self._lock:
            self._hangs += n

    def send_receipt(
        self,
        provider_id: str,
        status: str = "delivered",
        callback_url: str | None = None,
        *,
        delivered_at: datetime | None = None,
        client: httpx.Client | None = None,
    ) -> int:
        """POST a delivery report like 46elks does; return the callback's HTTP status.

        ``client``: an open client to post with (many reports: a new client costs ~0.1 s).
        """
        url, form = self._receipt(provider_id, status, callback_url, delivered_at)
        if client is not None:
            return client.post(url, data=form, timeout=5).status_code
        with httpx.Client(timeout=5) as own:
            return own.post(url, data=form).status_code

    async def asend_receipt(
        self,
        provider_id: str,
        status: str = "delivered",
        callback_url: str | None = None,
        *,
        delivered_at: datetime | None = None,
    ) -> int:
        """send_receipt for callbacks served by the test's own event loop."""
        url, form = self._receipt(provider_id, status, callback_url, delivered_at)
        async with httpx.AsyncClient(timeout=5) as client:
            return (await client.post(url, data=form)).status_code

    def _receipt(
        self, provider_id: str, status: str, url: str | None, at: datetime | None
    ) -> tuple[str, dict[str, str]]:
        if url is None:
            known = {m.id: m.whendelivered for m in self.messages}
            url = known.get(provider_id)
            if url is None:
                raise ValueError(f"no whendelivered URL known for {provider_id!r}")
        form = {"id": provider_id, "status": status}
        if status == "delivered":
            moment = (at or datetime.now(UTC)).astimezone(UTC).replace(tzinfo=None)
            form["delivered"] = moment.isoformat(timespec="microseconds")
        return url, form

    # request handling (server threads) -------------------------------------------------
    def _next_action(self) -> _Failure | str | None:
        with self._lock:
            self._requests += 1
            if self._hangs:
                self._hangs -= 1
                return "hang"
            return self._failures.popleft() if self._failures else None

    def _authorised(self, header: str | None) -> bool:
        if not header or not header.startswith("Basic "):
            return False
        try:
            decoded = base64.b64decode(header[6:], validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return False
        return decoded == f"{self.username}:{self.password}"

    def _accept(self, form: dict[str, str]) -> tuple[int, str | dict[str, Any]]:
        problem = _validate(form)
        if problem:
            return 400, problem
        parts = segment_count(form["message"])
        reply: dict[str, Any] = {
            "status": "created",
            "direction": "outgoing",
            "from": form["from"],
            "to": form["to"],
            "created": datetime.now(UTC).replace(tzinfo=None).isoformat(timespec="microseconds"),
            "parts": parts,
        }
        if form.get("dontlog") == "message":
            reply["dontlog"] = "message"
        else:
            reply["message"] = form["message"]
        if form.get("dryrun") == "yes":
            reply["estimated_cost"] = parts * _COST_PER_PART
            return 200, reply
        sms_id = "s" + uuid.uuid4().hex
        reply.update(id=sms_id, cost=parts * _COST_PER_PART)
        with self._lock:
            self._messages.append(
                ReceivedSms(
                    sms_id,
                    form["from"],
                    form["to"],
                    form["message"],
                    form.get("whendelivered"),
                    form,
                )
            )
        return 200, reply


def _validate(form: dict[str, str]) -> str | None:
    for key in ("from", "to", "message"):
        if key not in form:
            return f'Missing key "{key}"'
    if not _E164.fullmatch(form["to"]):
        return "Invalid to number"
    if not (_E164.fullmatch(form["from"]) or _TEXT_SENDER.fullmatch(form["from"])):
        return "Invalid from: use an E.164 number or 3-11 letters and digits"
    if not form["message"]:
        return "Message is empty"
    callback = form.get("whendelivered")
    if callback is not None and urlsplit(callback).scheme not in ("http", "https"):
        return "Invalid whendelivered URL"
    return None


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, fake: Fake46elks) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.fake = fake


class _Handler(BaseHTTPRequestHandler):
    server_version = "Fake46elks/1"

    @property
    def fake(self) -> Fake46elks:
        assert isinstance(self.server, _Server)
        return self.server.fake

    def log_message(self, format: str, *args: Any) -> None:
        return None  # keep test output quiet; requests are recorded instead

    def do_GET(self) -> None:
        self._reply(405, "Method not allowed")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode("utf-8", errors="replace")
        action = self.fake._next_action()
        if action == "hang":
            self.fake._released.wait(self.fake.hang_seconds)
            self.close_connection = True
            return
        if isinstance(action, _Failure):
            self._reply(action.status, action.body, retry_after=action.retry_after)
            return
        if not self.fake._authorised(self.headers.get("Authorization")):
            self._reply(401, _DEFAULT_BODIES[401])
            return
        if self.path.rstrip("/").lower() != "/a1/sms":
            self._reply(404, "Not found")
            return
        if not self.headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded"):
            self._reply(400, "Send the fields form-encoded")
            return
        status, body = self.fake._accept(dict(parse_qsl(raw, keep_blank_values=True)))
        self._reply(status, body)

    def _reply(
        self, status: int, body: str | dict[str, Any], *, retry_after: int | None = None
    ) -> None:
        is_json = isinstance(body, dict)
        payload = (json.dumps(body) if is_json else str(body)).encode()
        self.send_response(status)
        content_type = "application/json" if is_json else "text/plain; charset=utf-8"
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        if retry_after is not None:
            self.send_header("Retry-After", str(retry_after))
        self.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.wfile.write(payload)


def with_fake_gateway(settings: Settings, fake: Fake46elks) -> Settings:
    """Test settings that send SMS to ``fake`` at once and let tests drive the worker."""
    return dataclasses.replace(
        settings,
        sms_gateway="46elks",
        sms_46elks_username=fake.username,
        sms_46elks_password=fake.password,
        sms_46elks_sender="Kaiku",
        sms_46elks_base_url=fake.base_url,
        sms_delay_minutes=30,
        sms_window_start_hour=0,
        sms_window_end_hour=24,
        outbox_poll_seconds=3600.0,
    )


def live_sms_env(fake: Fake46elks) -> dict[str, str]:
    """Environment for a live Kaiku that texts through ``fake`` at once, at any hour,
    polling its outbox often (the environment twin of :func:`with_fake_gateway`)."""
    return {
        "KAIKU_SMS_GATEWAY": "46elks",
        "KAIKU_SMS_46ELKS_USERNAME": fake.username,
        "KAIKU_SMS_46ELKS_PASSWORD": fake.password,
        "KAIKU_SMS_46ELKS_SENDER": "Kaiku",
        "KAIKU_SMS_46ELKS_BASE_URL": fake.base_url,
        "KAIKU_SMS_DELAY_MINUTES": "0",
        "KAIKU_SMS_WINDOW_START_HOUR": "0",
        "KAIKU_SMS_WINDOW_END_HOUR": "24",
        "KAIKU_OUTBOX_POLL_SECONDS": "0.2",
    }
