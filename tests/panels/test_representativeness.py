"""Representativeness: the respondents of a panel's paths by sentiment, language and
channel, from the last 12 months, small cells suppressed; pool and accepted members
alongside."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth.roles import Role
from server.panels import respondents, service
from server.panels.crypto import cipher_from_settings
from tests.auth.helpers import signed_in
from tests.feedback.helpers import PATH, answer, bearer
from tests.panels.helpers import UNIT, add_volunteer
from tests.sms.helpers import services_of
from tests.support.fixtures import Seeded

OTHER_PATH = "aikuissosiaalityo"


def _answers(client: TestClient[Litestar], seeded: Seeded, **fields: Any) -> None:
    reply = client.post(
        "/api/v1/responses",
        json=answer(id=str(uuid.uuid4()), **fields),
        headers=bearer(seeded.kiosk_key),
    )
    assert reply.status_code in (200, 201), reply.text


def test_respondents_language_mix_of_the_panels_paths_with_small_cells_hidden(
    client: TestClient[Litestar], run: Any, seeded: Seeded
) -> None:
    for language, n in (("fi", 6), ("sv", 5), ("ar", 2)):
        for _ in range(n):
            _answers(client, seeded, language=language)
    for _ in range(7):  # another path: not the panel's
        _answers(client, seeded, language="en", path=OTHER_PATH, step=None)
    cipher = cipher_from_settings(services_of(client).settings)
    add_volunteer(run, cipher, "Aino", language="sv")
    signed_in(client, run, Role.ORGANISER)
    body = {"code": "mix", "topic": "T", "unit": UNIT, "seats": 2, "paths": [PATH]}
    assert client.post("/api/v1/panels", json=body).status_code == 201

    figures = client.get("/api/v1/panels/mix").json()

    languages = figures["respondents_mix"]["language"]
    assert "en" not in languages
    assert languages["fi"] == 6
    assert languages["ar"] is None  # 2 answers
    assert languages["sv"] is None  # hidden too, or 13 - 6 - sv would give ar away
    assert figures["respondents_mix"]["channel"] == {"kiosk": 13}
    assert figures["pool_mix"]["language"] == {"sv": 1}
    page = client.get("/staff/panels/mix").text
    shown = page.split("All respondents of the panel&#39;s paths, last 12 months", 1)[1]
    assert '<th scope="row">language</th><td>fi</td><td>6</td>' in shown.split("</table>")[0]

    whole_unit = {"code": "all", "topic": "T", "unit": UNIT, "seats": 2}
    assert client.post("/api/v1/panels", json=whole_unit).status_code == 201
    everywhere = client.get("/api/v1/panels/all").json()["respondents_mix"]["language"]
    assert everywhere["en"] == 7


def test_the_window_is_the_last_twelve_months(
    client: TestClient[Litestar], run: Any, seeded: Seeded
) -> None:
    for _ in range(5):
        _answers(client, seeded, language="sv")
    signed_in(client, run, Role.ORGANISER)
    body = {"code": "w", "topic": "T", "unit": UNIT, "seats": 2, "paths": [PATH]}
    assert client.post("/api/v1/panels", json=body).status_code == 201

    def mix_at(now: dt.datetime) -> respondents.Mix:
        async def read(session: AsyncSession) -> respondents.Mix:
            panel = await service.panel_by_code(session, "w")
            return await respondents.mix(session, panel, 5, now)

        found: respondents.Mix = run(read)
        return found

    today = dt.datetime.now(dt.UTC)
    assert mix_at(today)["language"] == {"sv": 5}
    assert mix_at(today + dt.timedelta(days=300))["language"] == {"sv": 5}
    later = mix_at(today + dt.timedelta(days=370))
    assert later == {"sentiment": {}, "language": {}, "channel": {}}


def test_recruitment_figures_per_path_of_the_panel(
    client: TestClient[Litestar], run: Any, seeded: Seeded
) -> None:
    cipher = cipher_from_settings(services_of(client).settings)
    for i in range(3):
        add_volunteer(run, cipher, f"T{i}", phone=f"+35840555000{i}")
    for i in range(2):
        add_volunteer(run, cipher, f"A{i}", phone=f"+35840555100{i}", path=OTHER_PATH, step=None)
    signed_in(client, run, Role.ORGANISER)
    body = {"code": "two", "topic": "T", "unit": UNIT, "seats": 5, "paths": [PATH, OTHER_PATH]}
    assert client.post("/api/v1/panels", json=body).status_code == 201
    before = {p["path"]: p for p in client.get("/api/v1/panels/two").json()["paths"]}
    assert (before[PATH]["pool"], before[OTHER_PATH]["pool"]) == (3, 2)

    assert client.post("/api/v1/panels/two/invitations").json()["invited"] == 5
    after = client.get("/api/v1/panels/two").json()["paths"]

    assert [(p["path"], p["pool"], p["invited"]) for p in after] == [
        (PATH, 0, 3),
        (OTHER_PATH, 0, 2),
    ]
    page = client.get("/staff/panels/two").text
    assert "<caption>By path</caption>" in page
