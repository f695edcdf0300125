"""Settings from ``KAIKU_*`` environment variables, validated once at start.

Everything configurable lives here so the README's table and the code cannot drift
apart: ``SETTINGS_HELP`` is the single description of every variable.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./kaiku.db"
_WEAK_SECRETS = {"", "changeme", "secret", "dev", "development", "kaiku"}
_SUPPORTED_SCHEMES = ("sqlite+aiosqlite", "postgresql+asyncpg")


_RATE_LIMITS = (
    "rate_limit_kiosk_per_minute",
    "rate_limit_integration_per_minute",
    "rate_limit_answer_per_minute",
    "rate_limit_qr_per_minute",
    "rate_limit_sign_in_failures",
    "rate_limit_sign_in_failures_total",
    "rate_limit_pairing_failures",
    "rate_limit_pairing_failures_total",
    "rate_limit_sms_callbacks_per_minute",
)


class SettingsError(ValueError):
    """A setting has a value Kaiku cannot run with; the message names the variable."""


@dataclass(frozen=True)
class Settings:
    """Runtime configuration. Build with :meth:`from_env`, or directly in tests."""

    env: str = "development"
    # Values that are or may hold secrets stay out of repr(), so no log or error shows them.
    database_url: str = field(default=DEFAULT_DATABASE_URL, repr=False)
    secret_key: str = field(default="", repr=False)
    allow_sqlite_in_production: bool = False
    auto_migrate: bool = True
    debug: bool = False
    public_url: str = "http://127.0.0.1:8000"
    db_pool_size: int = 10
    db_statement_timeout_seconds: float = 10.0
    max_batch_items: int = 500
    max_comment_chars: int = 500
    misuse_interval_seconds: float = 5.0
    auth_cache_seconds: float = 5.0
    metrics_refresh_seconds: float = 5.0
    metrics_token: str = field(default="", repr=False)
    suppression_threshold: int = 5
    kiosk_inactivity_seconds: int = 60
    kiosk_thank_you_seconds: int = 5
    pairing_code_minutes: int = 15
    session_idle_minutes: int = 30
    session_absolute_hours: int = 12
    sms_gateway: str = "console"
    sms_46elks_username: str = ""
    sms_46elks_password: str = field(default="", repr=False)
    sms_46elks_sender: str = ""
    sms_46elks_base_url: str = "https://api.46elks.com/a1"
    sms_delay_minutes: int = 30
    sms_window_start_hour: int = 9
    sms_window_end_hour: int = 20
    sms_quarantine_days: int = 7
    invitation_ttl_days: int = 7
    sms_max_attempts: int = 8
    outbox_poll_seconds: float = 5.0
    panel_keys: str = field(default="", repr=False)
    volunteer_retention_months: int = 24
    panel_invites_per_year: int = 3
    panel_reminder_hours: int = 72
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_username: str = ""
    smtp_password: str = field(default="", repr=False)
    smtp_from: str = "kaiku@localhost"
    smtp_starttls: bool = True
    raw_retention_months: int = 0
    jobs_poll_seconds: float = 60.0
    rate_limit_kiosk_per_minute: int = 600
    rate_limit_integration_per_minute: int = 1200
    rate_limit_answer_per_minute: int = 10
    rate_limit_qr_per_minute: int = 120
    rate_limit_sign_in_failures: int = 10
    rate_limit_sign_in_failures_total: int = 200
    rate_limit_sign_in_window_minutes: int = 15
    rate_limit_pairing_failures: int = 10
    rate_limit_pairing_failures_total: int = 100
    rate_limit_sms_callbacks_per_minute: int = 6000
    extra: Mapping[str, str] = field(default_factory=dict)

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read ``KAIKU_<FIELD>`` variables; raise :class:`SettingsError` on a bad value."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            if f.name == "extra":
                continue
            name = f"KAIKU_{f.name.upper()}"
            raw = environ.get(name)
            if raw is None:
                continue
            values[f.name] = _parse(name, raw, type(getattr(cls(), f.name)))
        settings = cls(**values)
        settings.validate()
        return settings

    def validate(self) -> None:
        """Refuse configurations that would run unsafely or fail later in a confusing way."""
        scheme = self.database_url.split("://", 1)[0]
        if scheme not in _SUPPORTED_SCHEMES:
            raise SettingsError(
                f"KAIKU_DATABASE_URL must start with one of {', '.join(_SUPPORTED_SCHEMES)}:// "
                f"(got {scheme!r})"
            )
        if self.env not in ("development", "production", "test"):
            raise SettingsError("KAIKU_ENV must be development, production or test")
        if 0 < self.raw_retention_months < 14:
            raise SettingsError(
                "KAIKU_RAW_RETENTION_MONTHS must be 0 (keep) or at least 14: tablets may "
                "resend answers for a year, and exactly-once needs the raw rows until then"
            )
        if self.suppression_threshold < 3:
            raise SettingsError("KAIKU_SUPPRESSION_THRESHOLD must be at least 3")
        if not 1 <= self.max_batch_items <= 5000:
            raise SettingsError("KAIKU_MAX_BATCH_ITEMS must be between 1 and 5000")
        for name in ("db_pool_size", "max_comment_chars", "pairing_code_minutes"):
            if getattr(self, name) < 1:
                raise SettingsError(f"KAIKU_{name.upper()} must be a positive number")
        self._validate_sms()
        if self.panel_reminder_hours < 0:
            raise SettingsError("KAIKU_PANEL_REMINDER_HOURS must be 0 (no reminders) or more")
        for name in _RATE_LIMITS:
            if getattr(self, name) < 0:
                raise SettingsError(f"KAIKU_{name.upper()} must be 0 (no limit) or more")
        if self.rate_limit_sign_in_window_minutes < 1:
            raise SettingsError("KAIKU_RATE_LIMIT_SIGN_IN_WINDOW_MINUTES must be positive")
        if self.is_production:
            if self.secret_key.lower() in _WEAK_SECRETS or len(self.secret_key) < 32:
                raise SettingsError(
                    "KAIKU_SECRET_KEY must be set to a random value of at least 32 characters "
                    "in production, e.g. from "
                    "python3 -c 'import secrets; print(secrets.token_urlsafe(48))'"
                )
            if self.debug:
                raise SettingsError("KAIKU_DEBUG must be off in production")
            if self.is_sqlite and not self.allow_sqlite_in_production:
                raise SettingsError(
                    "production uses PostgreSQL; set KAIKU_ALLOW_SQLITE_IN_PRODUCTION=true to "
                    "run on SQLite deliberately"
                )

    def _validate_sms(self) -> None:
        if self.sms_gateway not in ("console", "46elks"):
            raise SettingsError("KAIKU_SMS_GATEWAY must be console or 46elks")
        if self.sms_gateway == "46elks" and not (
            self.sms_46elks_username and self.sms_46elks_password and self.sms_46elks_sender
        ):
            raise SettingsError(
                "KAIKU_SMS_GATEWAY=46elks needs KAIKU_SMS_46ELKS_USERNAME, "
                "KAIKU_SMS_46ELKS_PASSWORD and KAIKU_SMS_46ELKS_SENDER"
            )
        if not 0 <= self.sms_window_start_hour < self.sms_window_end_hour <= 24:
            raise SettingsError(
                "KAIKU_SMS_WINDOW_START_HOUR must be before KAIKU_SMS_WINDOW_END_HOUR (0-24)"
            )
        if self.sms_delay_minutes < 0 or self.sms_quarantine_days < 0:
            raise SettingsError("KAIKU_SMS_DELAY_MINUTES and KAIKU_SMS_QUARANTINE_DAYS must be ≥ 0")
        for name in ("invitation_ttl_days", "sms_max_attempts"):
            if getattr(self, name) < 1:
                raise SettingsError(f"KAIKU_{name.upper()} must be a positive number")
        if self.outbox_poll_seconds <= 0:
            raise SettingsError("KAIKU_OUTBOX_POLL_SECONDS must be positive")

    @property
    def effective_secret_key(self) -> str:
        """The signing/HMAC key; development gets a fixed, clearly non-secret one."""
        return self.secret_key or "kaiku-development-secret-key-not-for-production"

    def sqlite_path(self) -> Path | None:
        if not self.is_sqlite:
            return None
        return Path(self.database_url.split(":///", 1)[1])


def _parse(name: str, raw: str, kind: type) -> Any:
    if kind is bool:
        lowered = raw.strip().lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off", ""):
            return False
        raise SettingsError(f"{name} must be true or false (got {raw!r})")
    if kind in (int, float):
        try:
            return kind(raw)
        except ValueError:
            raise SettingsError(f"{name} must be a {kind.__name__} (got {raw!r})") from None
    return raw


SETTINGS_HELP: dict[str, str] = {
    "raw_retention_months": "delete raw responses older than this (0 = keep; at least 14); "
    "roll-ups stay",
    "jobs_poll_seconds": "how often each process looks for due scheduled jobs",
    "env": "development, production or test; production enforces the safety checks",
    "database_url": "SQLAlchemy URL: sqlite+aiosqlite:///path.db or postgresql+asyncpg://…",
    "secret_key": "HMAC/signing key; required (≥ 32 chars) in production",
    "allow_sqlite_in_production": "permit SQLite when KAIKU_ENV=production",
    "auto_migrate": "apply Alembic migrations at start (always on for the embedded default)",
    "debug": "Litestar debug mode; refused in production",
    "public_url": "base URL used in printed and sent links",
    "db_pool_size": "connections per process (PostgreSQL)",
    "db_statement_timeout_seconds": "give up on a database call after this long (→ 503)",
    "max_batch_items": "largest accepted batch of responses",
    "max_comment_chars": "longest accepted free-text comment",
    "misuse_interval_seconds": "answers closer than this on one kiosk are flagged as misuse",
    "auth_cache_seconds": "how often each process checks for revoked API keys "
    "(the delay before a revocation takes effect)",
    "metrics_refresh_seconds": "age after which /metrics re-reads the roll-ups",
    "metrics_token": "if set, /metrics requires this bearer token (or a metrics key)",
    "suppression_threshold": "small-cell threshold for staff-facing numbers (never below 3)",
    "kiosk_inactivity_seconds": "kiosk returns to start after this much inactivity",
    "kiosk_thank_you_seconds": "how long the kiosk shows the thank-you screen",
    "pairing_code_minutes": "lifetime of a kiosk pairing code",
    "session_idle_minutes": "a staff session ends after this long without a request",
    "session_absolute_hours": "a staff session ends this long after sign-in, however active",
    "sms_gateway": (
        "console (development: logs text and link; in production it fails each message "
        "and logs no link) or 46elks"
    ),
    "sms_46elks_username": "46elks API username",
    "sms_46elks_password": "46elks API password",
    "sms_46elks_sender": "46elks sender: E.164 number or 3-11 letters and digits",
    "sms_46elks_base_url": "46elks API base URL (tests point it at a loopback fake)",
    "sms_delay_minutes": "an invitation is sent at least this long after the contact ended",
    "sms_window_start_hour": "texts are sent from this hour (Europe/Helsinki) …",
    "sms_window_end_hour": "… until this hour (exclusive, 1-24)",
    "sms_quarantine_days": "one invitation per phone number per this many days",
    "invitation_ttl_days": "an answer link works for this many days after sending",
    "sms_max_attempts": "give up on a text after this many tries (exponential backoff)",
    "outbox_poll_seconds": "how often the SMS outbox worker looks for due messages",
    "panel_keys": "comma-separated Fernet keys for volunteers' contact details, newest "
    "first (empty: derived from the secret key; set your own in production)",
    "volunteer_retention_months": "kaiku purge erases volunteers inactive this long",
    "panel_invites_per_year": "a volunteer is invited to at most this many panels a year",
    "panel_reminder_hours": "one reminder to panel invitees who have not answered after this "
    "many hours, by the same channel (0 = none)",
    "smtp_host": "SMTP server for panel e-mail (empty: e-mail is logged, not sent)",
    "smtp_port": "SMTP port",
    "smtp_username": "SMTP user name (empty: no login)",
    "smtp_password": "SMTP password",
    "smtp_from": "sender address of panel e-mail",
    "smtp_starttls": "upgrade the SMTP connection with STARTTLS",
    "rate_limit_kiosk_per_minute": "requests (batches) per minute per kiosk device key; 0 = off",
    "rate_limit_integration_per_minute": "requests per minute per API key other than kiosks",
    "rate_limit_answer_per_minute": "POSTs per minute per SMS answer link",
    "rate_limit_qr_per_minute": "answer POSTs per minute per QR poster (unit and path)",
    "rate_limit_sign_in_failures": "failed sign-ins per user name per window before 429",
    "rate_limit_sign_in_failures_total": "failed sign-ins for all names per window before 429",
    "rate_limit_sign_in_window_minutes": "the sign-in failure window",
    "rate_limit_pairing_failures": "failed kiosk pairing codes per minute per client address "
    "before 429",
    "rate_limit_pairing_failures_total": "failed kiosk pairing codes per minute from all "
    "addresses before 429",
    "rate_limit_sms_callbacks_per_minute": "SMS gateway callbacks (delivery receipts; inbound "
    "texts) per minute each, counted after the URL secret is checked; 46elks retries a 429",
}
