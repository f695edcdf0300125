"""Recruitment figures on /metrics (suppressed below 5) and the purge / rotate-keys commands."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from click.testing import CliRunner
from cryptography.fernet import Fernet
from litestar import Litestar
from litestar.testing import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth.roles import Role
from server.cli import main
from server.panels.crypto import ContactCipher, cipher_from_settings
from server.panels.models import Volunteer
from server.services import scheduled_jobs
from tests.auth.helpers import signed_in
from tests.panels.helpers import NOW, UNIT, add_volunteer
from tests.support.fixtures import Seeded

PANEL = {"code": "p1", "topic": "T", "unit": UNIT, "seats": 5, "meeting_dates": ["2027-03-01"]}


Sample = tuple[str, tuple[tuple[str, str], ...]]


def _samples(client: TestClient[Litestar], key: str) -> dict[Sample, float]:
    text = client.get("/metrics", headers={"Authorization": f"Bearer {key}"}).text
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        if family.name.startswith("kaiku_panel")
        for s in family.samples
    }


def test_panel_figures_reach_metrics_and_small_counts_are_omitted(
    client: TestClient[Litestar], run: Any, seeded: Seeded
) -> None:
    cipher = cipher_from_settings(client.app.state.services.settings)
    for i in range(6):
        add_volunteer(run, cipher, f"V{i}", phone=f"+35840111000{i}")
    signed_in(client, run, Role.ORGANISER)
    assert client.post("/api/v1/panels", json=PANEL).status_code == 201
    labels: tuple[tuple[str, str], ...] = (("panel", "p1"), ("unit", UNIT))

    before = _samples(client, seeded.metrics_key)
    assert before[("kaiku_panel_seats", labels)] == 5
    assert before[("kaiku_panel_pool_volunteers", labels)] == 6
    midnight = dt.datetime(2027, 3, 1, tzinfo=ZoneInfo("Europe/Helsinki")).timestamp()
    assert before[("kaiku_panel_first_meeting_timestamp_seconds", labels)] == midnight
    assert not any(name == "kaiku_panel_members" for name, _ in before)
    path = (("panel", "p1"), ("path", "toimeentulotuki"))
    assert before[("kaiku_panel_path_volunteers", (*path, ("status", "pool"), labels[1]))] == 6

    assert client.post("/api/v1/panels/p1/invitations").json()["invited"] == 5
    after = _samples(client, seeded.metrics_key)
    assert after[("kaiku_panel_members", (labels[0], ("status", "invited"), labels[1]))] == 5
    assert ("kaiku_panel_pool_volunteers", labels) not in after  # 1 left: suppressed
    per_path = {k[1]: v for k, v in after.items() if k[0] == "kaiku_panel_path_volunteers"}
    assert per_path == {(*path, ("status", "invited"), labels[1]): 5}  # pool 1, other path 0


def _cli(database_url: str, *args: str, keys: str = "") -> str:
    env = {"KAIKU_ENV": "test", "KAIKU_DATABASE_URL": database_url, "KAIKU_PANEL_KEYS": keys}
    result = CliRunner().invoke(main, list(args), env=env)
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result.output


def _volunteers(run: Any) -> list[Volunteer]:
    async def fetch(session: AsyncSession) -> list[Volunteer]:
        return list(await session.scalars(select(Volunteer).order_by(Volunteer.id)))

    return list(run(fetch))


def test_purge_dry_run_counts_then_purge_erases(
    run: Any, seeded: Seeded, database_url: str
) -> None:
    cipher = ContactCipher([Fernet.generate_key().decode()])
    add_volunteer(run, cipher, "Old", now=dt.datetime.now(dt.UTC) - dt.timedelta(days=900))
    add_volunteer(run, cipher, "New", now=dt.datetime.now(dt.UTC))

    assert "would erase 1 volunteer(s) inactive for 24 months" in _cli(
        database_url, "purge", "--dry-run"
    )
    assert len(_volunteers(run)) == 2
    assert "erased 1 volunteer(s)" in _cli(database_url, "purge")
    assert len(_volunteers(run)) == 1


def test_rotate_keys_command(run: Any, seeded: Seeded, database_url: str) -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    add_volunteer(run, ContactCipher([old]), "Aino", now=NOW)

    assert "of 1 volunteer" in _cli(database_url, "panels", "rotate-keys", keys=f"{new},{old}")
    [stored] = _volunteers(run)
    assert ContactCipher([new]).decrypt(stored.first_name_enc) == "Aino"


def test_the_daily_job_purges_and_closes_unanswered_invitations(
    client: TestClient[Litestar], run: Any, seeded: Seeded
) -> None:
    services = client.app.state.services
    cipher = cipher_from_settings(services.settings)
    add_volunteer(run, cipher, "Old", now=dt.datetime.now(dt.UTC) - dt.timedelta(days=900))
    for i in range(2):
        add_volunteer(run, cipher, f"V{i}", phone=f"+35840111000{i}", now=dt.datetime.now(dt.UTC))
    signed_in(client, run, Role.ORGANISER)
    past = {**PANEL, "meeting_dates": [dt.date.today().isoformat()]}
    assert client.post("/api/v1/panels", json=past).status_code == 201
    assert client.post("/api/v1/panels/p1/invitations").json()["invited"] == 3
    [job] = [j for j in scheduled_jobs(services.settings) if j.name == "panel-retention"]

    changed = client.blocking_portal.call(job.run, services.engine)

    assert changed == 1 + 2  # one purged, two invitations closed
    figures = client.get("/api/v1/panels/p1").json()
    assert (figures["no_answer"], figures["invited"]) == (2, 0)
    assert len(_volunteers(run)) == 2
