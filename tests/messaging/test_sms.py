"""SMS gateways over real loopback HTTP against the fake 46elks."""

from __future__ import annotations

import logging
import socket
import ssl
import threading
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

import anyio
import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.messaging.outbox import gateway_from_settings
from server.messaging.sms import (
    ConsoleGateway,
    DeliveryReceipt,
    FortySixElksGateway,
    OutgoingSms,
    SendOutcome,
    SmsGateway,
    build_gateway,
    mask_number,
    parse_46elks_receipt,
)
from server.settings import Settings
from tests.support.fake_46elks import Fake46elks

USER, PASSWORD = "u0123456789abcdef", "S3CRET-pass"
TO = "+358401234567"
TEXT = "Miten onnistuimme? Vastaa: https://kaiku.example/v/Xy12Ab34Cd"
SMS = OutgoingSms(to=TO, text=TEXT, reference="outbox-17")
CALLBACK = "https://kaiku.example/sms/receipts?key=abc"
TLS_CONTEXT = ssl.create_default_context()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def fake() -> Iterator[Fake46elks]:
    with Fake46elks(username=USER, password=PASSWORD, hang_seconds=3) as server:
        yield server


def make_gateway(
    base_url: str,
    *,
    password: str = PASSWORD,
    delivery_callback_url: str | None = CALLBACK,
    client: httpx.AsyncClient | None = None,
) -> FortySixElksGateway:
    return FortySixElksGateway(
        username=USER,
        password=password,
        sender="Kaiku",
        base_url=base_url,
        delivery_callback_url=delivery_callback_url,
        timeout=0.5,
        client=client,
    )


@pytest.fixture
async def gateway(fake: Fake46elks) -> AsyncIterator[FortySixElksGateway]:
    gw = make_gateway(fake.base_url)
    yield gw
    await gw.aclose()


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/a1"


def assert_private(text: str) -> None:
    for secret in (TO, TO[1:], TO[4:], TEXT, "Xy12Ab34Cd"):
        assert secret not in text


# sending ------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_accepted_message_reaches_the_provider_as_documented(
    fake: Fake46elks, gateway: FortySixElksGateway
) -> None:
    result = await gateway.send(SMS)

    assert result.outcome is SendOutcome.ACCEPTED
    [received] = fake.messages
    assert result.provider_id == received.id
    assert (received.sender, received.to, received.message) == ("Kaiku", TO, TEXT)
    assert received.whendelivered == CALLBACK
    assert received.form["dontlog"] == "message"  # 46elks keeps no copy of the link
    assert "1 part" in result.detail
    assert_private(result.detail)


@pytest.mark.anyio
async def test_bad_credentials_keep_the_message_for_retry(fake: Fake46elks) -> None:
    gateway = make_gateway(fake.base_url, password="wrong")
    try:
        result = await gateway.send(SMS)
    finally:
        await gateway.aclose()

    assert result.outcome is SendOutcome.RETRY
    assert "HTTP 401" in result.detail
    assert "credentials" in result.detail
    assert fake.messages == []


@pytest.mark.anyio
async def test_number_rejected_by_provider_is_permanent(
    fake: Fake46elks, gateway: FortySixElksGateway
) -> None:
    fake.fail_next(1, 400, "Invalid to number")

    result = await gateway.send(SMS)

    assert result.outcome is SendOutcome.FAILED
    assert result.detail == "46elks rejected the message (HTTP 400): Invalid to number"


@pytest.mark.anyio
async def test_number_that_is_not_e164_is_refused_without_a_request(
    fake: Fake46elks, gateway: FortySixElksGateway
) -> None:
    result = await gateway.send(OutgoingSms(to="0401234567", text=TEXT, reference="r"))

    assert result.outcome is SendOutcome.FAILED
    assert fake.request_count == 0
    assert_private(result.detail)


@pytest.mark.anyio
async def test_rate_limit_is_retried_and_passes_on_retry_after(
    fake: Fake46elks, gateway: FortySixElksGateway
) -> None:
    fake.fail_next(1, 429, retry_after=30)

    result = await gateway.send(SMS)

    assert result.outcome is SendOutcome.RETRY
    assert "HTTP 429" in result.detail
    assert "retry after 30 s" in result.detail


@pytest.mark.anyio
async def test_server_error_is_retried_and_the_next_attempt_goes_through(
    fake: Fake46elks, gateway: FortySixElksGateway
) -> None:
    fake.fail_next(1, 500)

    first = await gateway.send(SMS)
    second = await gateway.send(SMS)

    assert first.outcome is SendOutcome.RETRY
    assert "server error (HTTP 500)" in first.detail
    assert second.outcome is SendOutcome.ACCEPTED
    assert len(fake.messages) == 1


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        (400, SendOutcome.FAILED),
        (413, SendOutcome.FAILED),
        (422, SendOutcome.FAILED),
        (401, SendOutcome.RETRY),
        (402, SendOutcome.RETRY),
        (403, SendOutcome.RETRY),
        (404, SendOutcome.RETRY),
        (502, SendOutcome.RETRY),
        (503, SendOutcome.RETRY),
    ],
)
async def test_status_codes_map_to_outcomes(
    fake: Fake46elks, gateway: FortySixElksGateway, status: int, outcome: SendOutcome
) -> None:
    fake.fail_next(1, status)

    result = await gateway.send(SMS)

    assert result.outcome is outcome
    assert f"HTTP {status}" in result.detail
    assert result.provider_id is None


@pytest.mark.anyio
async def test_provider_that_hangs_times_out_as_retry(
    fake: Fake46elks, gateway: FortySixElksGateway
) -> None:
    fake.hang_next(1)

    started = time.monotonic()
    result = await gateway.send(SMS)

    assert time.monotonic() - started < 2
    assert result.outcome is SendOutcome.RETRY
    assert "may have been sent" in result.detail
    assert fake.request_count == 1


@pytest.mark.anyio
async def test_connection_refused_is_retried() -> None:
    gateway = make_gateway(closed_port_url())
    try:
        result = await gateway.send(SMS)
    finally:
        await gateway.aclose()

    assert result.outcome is SendOutcome.RETRY
    assert result.detail == "could not reach 46elks (ConnectError)"


@pytest.mark.anyio
async def test_gateway_does_not_close_a_client_it_was_given(fake: Fake46elks) -> None:
    async with httpx.AsyncClient() as client:
        gateway = make_gateway(fake.base_url, client=client)
        await gateway.aclose()
        assert (await gateway.send(SMS)).outcome is SendOutcome.ACCEPTED


@pytest.mark.anyio
async def test_no_phone_number_or_text_in_any_log_record(
    fake: Fake46elks, gateway: FortySixElksGateway, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, httpx and httpcore included
    echo = f'Invalid to number {TO} for message "{TEXT}"'
    fake.fail_next(1, 400, echo)
    fake.fail_next(1, 500)
    results = [await gateway.send(SMS) for _ in range(3)]
    fake.hang_next(1)
    results.append(await gateway.send(SMS))
    refused = make_gateway(closed_port_url())
    results.append(await refused.send(SMS))
    await refused.aclose()

    assert [r.outcome for r in results] == ["failed", "retry", "accepted", "retry", "retry"]
    assert len(caplog.records) >= 5
    for record in caplog.records:
        assert_private(record.getMessage())
    for result in results:
        assert_private(result.detail)


@settings(max_examples=40, deadline=None)
@given(
    to=st.from_regex(r"\+[1-9][0-9]{7,13}", fullmatch=True),
    text=st.text(alphabet="abcdefghijklmnopqrstuvwxyzåäö ?:/.", min_size=20, max_size=200),
    template=st.sampled_from(
        [
            "Invalid to number {to}",
            "Bad message {text!r} for {plain}",
            "{text}",
            "to={plain}&message={text}",
            "Number {national} is not allowed",
        ]
    ),
    status=st.sampled_from([400, 402, 500]),
)
def test_detail_never_echoes_number_or_text(to: str, text: str, template: str, status: int) -> None:
    body = template.format(to=to, text=text, plain=to[1:], national="0" + to[4:])
    sms = OutgoingSms(to=to, text=text, reference="r")

    async def send_once(base_url: str) -> str:
        # A shared TLS context: building one per example would dominate the run time.
        async with httpx.AsyncClient(verify=TLS_CONTEXT) as client:
            return (await make_gateway(base_url, client=client).send(sms)).detail

    with Fake46elks(username=USER, password=PASSWORD) as server:
        server.fail_next(1, status, body)
        detail = anyio.run(send_once, server.base_url)

    for secret in (to, to[1:], to[4:], text):
        assert secret not in detail


def test_outgoing_sms_repr_hides_number_and_text() -> None:
    assert_private(repr(SMS))
    assert "outbox-17" in repr(SMS)


@pytest.mark.parametrize(
    ("form", "status", "reply"),
    [
        ({"from": "Kaiku", "message": "Hei"}, 400, 'Missing key "to"'),
        ({"from": "Kaiku", "to": "0401234567", "message": "Hei"}, 400, "Invalid to number"),
        ({"from": "9Kaiku", "to": TO, "message": "Hei"}, 400, "Invalid from"),
        ({"from": "Kaiku", "to": TO, "message": ""}, 400, "Message is empty"),
        ({"from": "Kaiku", "to": TO, "message": "Hei", "dryrun": "yes"}, 200, "estimated_cost"),
    ],
)
def test_fake_validates_like_the_provider(
    fake: Fake46elks, form: dict[str, str], status: int, reply: str
) -> None:
    response = httpx.post(f"{fake.base_url}/sms", data=form, auth=(USER, PASSWORD))

    assert response.status_code == status
    assert reply in response.text
    assert fake.messages == []  # neither rejected nor dry-run messages are sent


def test_fake_reply_has_the_documented_shape(fake: Fake46elks) -> None:
    form = {"from": "Kaiku", "to": TO, "message": "Hei " + "ä" * 200}
    reply = httpx.post(f"{fake.base_url}/sms", data=form, auth=(USER, PASSWORD)).json()

    assert reply["status"] == "created"
    assert reply["direction"] == "outgoing"
    assert reply["parts"] == 2
    assert reply["id"] == fake.messages[0].id
    assert datetime.fromisoformat(reply["created"])


# console gateway ----------------------------------------------------------------------


@pytest.mark.anyio
async def test_console_gateway_logs_masked_number(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="server.messaging.sms")
    gateway = ConsoleGateway()

    result = await gateway.send(SMS)
    await gateway.aclose()

    assert result.outcome is SendOutcome.ACCEPTED
    assert result.provider_id is not None
    assert result.provider_id.startswith("console-")
    [record] = caplog.records
    assert record.getMessage() == f"SMS to +**********67 (ref outbox-17): {TEXT}"
    assert TO[1:-2] not in record.getMessage()


@given(st.from_regex(r"\+?[0-9 -]{0,20}", fullmatch=True))
def test_mask_keeps_only_the_last_two_digits(number: str) -> None:
    masked = mask_number(number)
    digits = [c for c in number if c.isdigit()]
    assert len(masked) == len(number)
    assert [c for c in masked if c.isdigit()] == digits[-2:]


# delivery reports ---------------------------------------------------------------------


def test_receipt_delivered() -> None:
    receipt = parse_46elks_receipt(
        {"id": "s70df59406a1b4643b96f3f91e0bfb7b0", "status": "delivered",
         "delivered": "2024-05-04T13:38:15.123000"}
    )  # fmt: skip

    assert receipt == DeliveryReceipt(
        provider_id="s70df59406a1b4643b96f3f91e0bfb7b0",
        delivered=True,
        at=datetime(2024, 5, 4, 13, 38, 15, 123000, tzinfo=UTC),
        detail="delivered",
    )


@pytest.mark.parametrize(("status", "final"), [("failed", True), ("sent", False)])
def test_receipt_not_delivered(status: str, final: bool) -> None:
    receipt = parse_46elks_receipt({"id": "s1", "status": status})

    assert not receipt.delivered
    assert receipt.at is None
    assert receipt.final is final
    assert receipt.detail == status


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"status": "delivered"}, "no 'id'"),
        ({"id": " ", "status": "failed"}, "no 'id'"),
        ({"id": "s1"}, "status ''"),
        ({"id": "s1", "status": "DELIVRD"}, "status 'DELIVRD'"),
        ({"id": "s1", "status": "delivered", "delivered": "yesterday"}, "not a timestamp"),
    ],
)
def test_receipt_bad_input(form: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_46elks_receipt(form)


class _CallbackSink(ThreadingHTTPServer):
    """Our side of whendelivered: records the forms 46elks (here: the fake) posts."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _SinkHandler)
        self.forms: list[dict[str, str]] = []
        self.auth: list[str | None] = []


class _SinkHandler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        assert isinstance(self.server, _CallbackSink)
        body = self.rfile.read(int(self.headers["Content-Length"])).decode()
        self.server.forms.append(dict(parse_qsl(body)))
        self.server.auth.append(self.headers.get("Authorization"))
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        return None


@pytest.fixture
def sink() -> Iterator[_CallbackSink]:
    server = _CallbackSink()
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.mark.anyio
async def test_delivery_report_round_trip(fake: Fake46elks, sink: _CallbackSink) -> None:
    port = sink.server_address[1]
    gateway = make_gateway(
        fake.base_url, delivery_callback_url=f"http://elks:hook@127.0.0.1:{port}/receipts"
    )
    result = await gateway.send(SMS)
    await gateway.aclose()
    assert result.provider_id is not None

    assert fake.send_receipt(result.provider_id, "sent") == 204
    assert await fake.asend_receipt(result.provider_id, "delivered") == 204

    sent, delivered = (parse_46elks_receipt(form) for form in sink.forms)
    assert (sent.provider_id, sent.final) == (result.provider_id, False)
    assert delivered.delivered
    assert delivered.at is not None
    assert abs((datetime.now(UTC) - delivered.at).total_seconds()) < 60
    assert all(auth and auth.startswith("Basic ") for auth in sink.auth)


# configuration ------------------------------------------------------------------------


@pytest.mark.anyio
async def test_build_console_gateway() -> None:
    gateway = build_gateway("console")
    assert isinstance(gateway, ConsoleGateway)
    assert isinstance(gateway, SmsGateway)
    assert gateway.name == "console"


@pytest.mark.anyio
async def test_build_46elks_gateway_sends_with_string_options(fake: Fake46elks) -> None:
    gateway = build_gateway(
        "46elks",
        username=USER,
        password=PASSWORD,
        sender="+46766861004",
        base_url=fake.base_url,
        timeout="2.5",
    )
    try:
        assert gateway.name == "46elks"
        assert (await gateway.send(SMS)).outcome is SendOutcome.ACCEPTED
    finally:
        await gateway.aclose()
    assert fake.messages[0].sender == "+46766861004"
    assert fake.messages[0].whendelivered is None


@pytest.mark.parametrize(
    ("kind", "options", "message"),
    [
        ("twilio", {}, "unknown SMS gateway 'twilio'"),
        ("46elks", {"username": "u", "sender": "Kaiku"}, r"needs option\(s\) \['password'\]"),
        ("46elks", {"username": "u", "password": "", "sender": "Kaiku"}, "password"),
        ("46elks", {"username": "u", "password": "p", "sender": "Kaiku", "callback": "x"},
         "unknown 46elks option"),
        ("46elks", {"username": "u", "password": "p", "sender": "Kaiku", "timeout": "ten"},
         "timeout must be a number"),
        ("46elks", {"username": "u", "password": "p", "sender": "1Kaiku"}, "sender"),
        ("46elks", {"username": "u", "password": "p", "sender": "Kaiku palvelut"}, "sender"),
        ("console", {"username": "u"}, "takes only reveal_text"),
    ],
)  # fmt: skip
def test_build_gateway_refuses_bad_configuration(
    kind: str, options: dict[str, str], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        build_gateway(kind, **options)


@pytest.mark.anyio
async def test_console_gateway_in_production_fails_each_message_and_logs_no_link(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The text holds the answer link, a credential: production logs must never hold it."""
    caplog.set_level(logging.DEBUG)
    production = Settings.from_env(
        {
            "KAIKU_ENV": "production",
            "KAIKU_DATABASE_URL": "postgresql+asyncpg://kaiku@db.internal/kaiku",
            "KAIKU_SECRET_KEY": "p" * 16 + "Q7v2Lr9XwZp3TnB8",
        }
    )
    gateway = gateway_from_settings(production)

    result = await gateway.send(SMS)

    assert gateway.name == "console"
    assert result.outcome is SendOutcome.FAILED
    assert "no SMS gateway configured" in result.detail
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "ref outbox-17" in logged
    assert TEXT not in logged
    assert TO[1:-2] not in logged
    development = await gateway_from_settings(Settings()).send(SMS)
    assert development.outcome is SendOutcome.ACCEPTED
