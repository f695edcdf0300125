"""Settings: every KAIKU_* variable parses, bad values name the variable, production is strict."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from server.app import create_app
from server.settings import SETTINGS_HELP, Settings, SettingsError

ROOT = Path(__file__).resolve().parents[1]
STRONG_SECRET = "k" * 16 + "Q7v2Lr9XwZp3TnB8"  # 32 characters, not a known weak value
PRODUCTION = {
    "KAIKU_ENV": "production",
    "KAIKU_DATABASE_URL": "postgresql+asyncpg://kaiku@db.internal/kaiku",
    "KAIKU_SECRET_KEY": STRONG_SECRET,
}
# A valid raw value and what it parses to, for every field type ...
VALID_BY_TYPE: dict[type, tuple[str, Any]] = {
    bool: ("yes", True),
    int: ("7", 7),
    float: ("2.5", 2.5),
    str: ("kaiku-test-value", "kaiku-test-value"),
}
# ... and for the fields that take only some values of their type.
VALID_FOR_FIELD: dict[str, tuple[str, Any]] = {
    "env": ("test", "test"),
    "database_url": (PRODUCTION["KAIKU_DATABASE_URL"],) * 2,
    "sms_gateway": ("console", "console"),
    "sms_window_end_hour": ("23", 23),
    "raw_retention_months": ("24", 24),
}
INVALID_BY_TYPE = {bool: "maybe", int: "ten", float: "1,5"}


def setting_fields() -> list[tuple[str, type]]:
    """Every configurable field with its type (taken from the default, as from_env does)."""
    defaults = Settings()
    return [
        (f.name, type(getattr(defaults, f.name))) for f in fields(Settings) if f.name != "extra"
    ]


def variable(name: str) -> str:
    return f"KAIKU_{name.upper()}"


@pytest.mark.parametrize(("name", "kind"), setting_fields())
def test_every_variable_is_read_with_its_type(name: str, kind: type) -> None:
    raw, expected = VALID_FOR_FIELD.get(name, VALID_BY_TYPE[kind])
    settings = Settings.from_env({variable(name): raw})
    assert getattr(settings, name) == expected
    assert type(getattr(settings, name)) is kind
    assert name in SETTINGS_HELP, "the README's settings table comes from SETTINGS_HELP"


@pytest.mark.parametrize(("name", "kind"), [f for f in setting_fields() if f[1] is not str])
def test_a_bad_value_names_the_variable_and_the_value(name: str, kind: type) -> None:
    raw = INVALID_BY_TYPE[kind]
    with pytest.raises(SettingsError) as raised:
        Settings.from_env({variable(name): raw})
    assert variable(name) in str(raised.value)
    assert repr(raw) in str(raised.value)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        *[("1", True), ("true", True), ("ON", True), (" Yes ", True)],
        *[("0", False), ("false", False), ("off", False), ("no", False), ("", False)],
    ],
)
def test_boolean_spellings(raw: str, expected: bool) -> None:
    assert Settings.from_env({"KAIKU_DEBUG": raw}).debug is expected


def test_unset_variables_keep_the_defaults() -> None:
    assert Settings.from_env({}) == Settings()
    assert Settings().database_url.startswith("sqlite+aiosqlite:///")


def test_production_with_postgresql_and_a_strong_secret_starts() -> None:
    settings = Settings.from_env(PRODUCTION)
    assert settings.is_production
    assert settings.effective_secret_key == STRONG_SECRET


@pytest.mark.parametrize(
    ("overrides", "variable_named"),
    [
        pytest.param({"KAIKU_SECRET_KEY": None}, "KAIKU_SECRET_KEY", id="missing-secret"),
        pytest.param({"KAIKU_SECRET_KEY": "changeme"}, "KAIKU_SECRET_KEY", id="weak-secret"),
        pytest.param({"KAIKU_SECRET_KEY": STRONG_SECRET[:31]}, "KAIKU_SECRET_KEY", id="short"),
        pytest.param({"KAIKU_DEBUG": "true"}, "KAIKU_DEBUG", id="debug-on"),
        pytest.param(
            {"KAIKU_DATABASE_URL": "sqlite+aiosqlite:///./kaiku.db"},
            "KAIKU_ALLOW_SQLITE_IN_PRODUCTION",
            id="sqlite",
        ),
    ],
)
def test_production_refuses_unsafe_configuration(
    overrides: dict[str, str | None], variable_named: str
) -> None:
    environ = {k: v for k, v in {**PRODUCTION, **overrides}.items() if v is not None}
    with pytest.raises(SettingsError, match=variable_named):
        Settings.from_env(environ)


def test_sqlite_in_production_only_when_allowed_explicitly() -> None:
    environ = {**PRODUCTION, "KAIKU_DATABASE_URL": "sqlite+aiosqlite:///./kaiku.db"}
    settings = Settings.from_env({**environ, "KAIKU_ALLOW_SQLITE_IN_PRODUCTION": "true"})
    assert settings.is_sqlite


def test_development_needs_no_secret_and_says_its_key_is_not_secret() -> None:
    assert "not-for-production" in Settings.from_env({}).effective_secret_key


@pytest.mark.parametrize("threshold", ["2", "0", "-5"])
def test_suppression_threshold_below_three_is_refused(threshold: str) -> None:
    with pytest.raises(SettingsError, match="KAIKU_SUPPRESSION_THRESHOLD must be at least 3"):
        Settings.from_env({"KAIKU_SUPPRESSION_THRESHOLD": threshold})
    assert Settings.from_env({"KAIKU_SUPPRESSION_THRESHOLD": "3"}).suppression_threshold == 3


@pytest.mark.parametrize(
    "url",
    [
        "mysql+aiomysql://kaiku@db/kaiku",
        "postgresql://kaiku@db/kaiku",  # the sync driver would block the event loop
        "sqlite:///./kaiku.db",
        "kaiku.db",
    ],
)
def test_unsupported_database_url_is_refused(url: str) -> None:
    with pytest.raises(SettingsError) as raised:
        Settings.from_env({"KAIKU_DATABASE_URL": url})
    message = str(raised.value)
    assert "KAIKU_DATABASE_URL" in message
    assert "postgresql+asyncpg" in message


def test_unknown_environment_name_is_refused() -> None:
    with pytest.raises(SettingsError, match="KAIKU_ENV"):
        Settings.from_env({"KAIKU_ENV": "prod"})


def test_create_app_touches_no_database_until_the_lifespan_runs(tmp_path: Path) -> None:
    database = tmp_path / "kaiku.db"
    app = create_app(Settings(env="test", database_url=f"sqlite+aiosqlite:///{database}"))
    assert not database.exists(), "create_app must not connect"

    with TestClient(app) as client:
        assert database.exists(), "the embedded default migrates on start"
        assert client.get("/readyz").status_code == 200


def test_create_app_with_an_unreachable_database_still_builds() -> None:
    create_app(Settings(env="test", database_url="postgresql+asyncpg://postgres@127.0.0.1:1/x"))


def test_create_app_validates_settings_built_in_code() -> None:
    with pytest.raises(SettingsError, match="KAIKU_SUPPRESSION_THRESHOLD"):
        create_app(Settings(suppression_threshold=1))


def test_importing_the_application_does_nothing(tmp_path: Path) -> None:
    """Importing server modules in a fresh process creates no database file anywhere."""
    code = "import server.app, server.cli, server.database, server.feedback.controllers"
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env={"PYTHONPATH": str(ROOT), "KAIKU_DATABASE_URL": "sqlite+aiosqlite:///./kaiku.db"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert list(tmp_path.iterdir()) == []
