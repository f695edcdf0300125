"""Small helpers shared by the SMS tests."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any

from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import String, Text, select

from server.database import Base
from server.feedback.invitation_models import Invitation
from server.messaging.models import OutboxMessage
from server.messaging.outbox import OutboxWorker
from server.messaging.sms import SmsGateway
from server.services import Services

LINK = re.compile(r"https?://\S+/a/([A-Za-z0-9_-]{22,})")


def contact(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "idempotency_key": f"cis-{uuid.uuid4()}",
        "unit": "vaasa-aikuissosiaalityo",
        "path": "toimeentulotuki",
        "step": "ensitapaaminen",
        "contact_mode": "video",
        "phone": "040 123 4567",
        "language": "fi",
        "contact_ended_at": dt.datetime.now(dt.UTC).isoformat(),
    }
    body.update(overrides)
    return body


def services_of(client: TestClient[Litestar]) -> Services:
    services: Services = client.app.state.services
    return services


def worker(
    client: TestClient[Litestar], clock: Any, name: str, gateway: SmsGateway | None = None
) -> OutboxWorker:
    """An outbox worker on the app's database (through ``gateway``, else the app's)."""
    services = services_of(client)
    return OutboxWorker(
        services.engine,
        gateway or services.sms_gateway,
        max_attempts=3,
        poll_seconds=1,
        clock=clock,
        name=name,
    )


def token_in(text: str) -> str:
    match = LINK.search(text)
    assert match, "no answer link in the text"
    return match.group(1)


def outbox_rows(client: TestClient[Litestar]) -> list[Any]:
    services = services_of(client)

    async def read() -> list[Any]:
        async with services.engine.connect() as conn:
            return list(await conn.execute(select(OutboxMessage).order_by(OutboxMessage.id)))

    return client.blocking_portal.call(read)


def invitation(client: TestClient[Litestar], invitation_id: str) -> Any:
    services = services_of(client)

    async def read() -> Any:
        async with services.engine.connect() as conn:
            return (
                await conn.execute(
                    select(Invitation).where(Invitation.id == uuid.UUID(invitation_id))
                )
            ).one()

    return client.blocking_portal.call(read)


def text_values(client: TestClient[Litestar]) -> list[str]:
    """Every string in every text column of every table (to prove something is nowhere)."""
    services = services_of(client)

    async def read() -> list[str]:
        values: list[str] = []
        async with services.engine.connect() as conn:
            for table in Base.metadata.sorted_tables:
                columns = [c for c in table.columns if isinstance(c.type, String | Text)]
                if columns:
                    rows = await conn.execute(select(*columns))
                    values.extend(str(v) for row in rows for v in row if v is not None)
        return values

    return client.blocking_portal.call(read)
