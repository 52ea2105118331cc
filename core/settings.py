"""Settings, read once in the composition root and passed down."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

TELEGRAM_PUBLIC_API = "https://api.telegram.org"


class SettingsError(Exception):
    """One line that names the variable at fault; shown instead of a traceback."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    database_url: str | None = None
    database_pool_size: int = Field(default=30, ge=1, le=500)
    health_grace_seconds: float = Field(default=5.0, ge=0, le=3600)
    desk_data_dir: Path = Path("./var")
    telegram_bot_token: SecretStr | None = None
    telegram_api_base: str = TELEGRAM_PUBLIC_API
    telegram_bot_username: str | None = None
    telegram_webhook_url: str | None = None
    telegram_webhook_secret: SecretStr | None = None
    telegram_rate_global: float = Field(default=30.0, gt=0)
    telegram_rate_per_chat: float = Field(default=1.0, gt=0)
    web_host: str = "127.0.0.1"
    web_port: int = Field(default=8080, ge=1, le=65535)
    web_public_origin: str | None = None
    secret_key: SecretStr = SecretStr("dev-insecure-change-me")
    web_session_idle_hours: float = Field(default=12.0, gt=0)
    web_session_max_days: float = Field(default=7.0, gt=0)
    login_slow_after: int = Field(default=3, ge=1)
    login_lock_after: int = Field(default=10, ge=2)
    login_lock_minutes: float = Field(default=15.0, gt=0)
    imap_host: str | None = None
    imap_port: int = Field(default=993, ge=1, le=65535)
    imap_user: str | None = None
    imap_password: SecretStr | None = None
    imap_security: Literal["ssl", "starttls", "plain"] = "ssl"
    imap_folder: str = "INBOX"
    imap_poll_seconds: float = Field(default=30.0, gt=0)
    smtp_host: str | None = None
    smtp_port: int = Field(default=465, ge=1, le=65535)
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    smtp_security: Literal["ssl", "starttls", "plain"] = "ssl"
    smtp_from: str | None = None
    smtp_reply_to: str | None = None
    smtp_timeout_seconds: float = Field(default=30.0, gt=0)
    imap_retry_max_seconds: float = Field(default=300.0, gt=0)
    mail_ack: bool = True
    mail_default_language: Literal["en", "ru"] = "en"
    mail_max_bytes: int = Field(default=25 * 1024 * 1024, gt=0)
    mail_ca_file: Path | None = None
    attachment_max_bytes: int = Field(default=20 * 1024 * 1024, gt=0)
    customer_rate_per_minute: int = Field(default=20, gt=0)
    reopen_window_hours: float = Field(default=72.0, ge=0)
    sla_warn_minutes: int = Field(default=60, ge=0, le=7 * 24 * 60)
    sla_watch_seconds: float = Field(default=60.0, gt=0)
    autoclose_days: float = Field(default=7.0, ge=0)
    autoclose_notice_hours: float = Field(default=24.0, ge=0)
    rating_request_delay_minutes: float = Field(default=10.0, ge=0)
    rating_request_max_age_hours: float = Field(default=72.0, gt=0)
    event_retention_days: float = Field(default=30.0, gt=0)
    orphan_attachment_grace_hours: float = Field(default=24.0, ge=0)
    housekeeping_seconds: float = Field(default=300.0, gt=0)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str | None) -> str | None:
        if not value:
            return None
        try:
            url = make_url(value)
        except ArgumentError as exc:
            raise ValueError("not a database URL (expected postgresql://user:pass@host:port/db)") from exc
        if not url.drivername.startswith("postgresql"):
            raise ValueError("only PostgreSQL is supported (postgresql://...)")
        return value

    @field_validator("telegram_api_base", "telegram_webhook_url", "web_public_origin")
    @classmethod
    def _check_http_url(cls, value: str | None) -> str | None:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/") if value else value

    @model_validator(mode="after")
    def _check_combinations(self) -> Settings:
        if self.telegram_webhook_url and not self.telegram_webhook_secret:
            raise ValueError("TELEGRAM_WEBHOOK_URL is set but TELEGRAM_WEBHOOK_SECRET is not")
        if self.imap_host and not (self.imap_user and self.imap_password):
            raise ValueError("IMAP_HOST is set but IMAP_USER or IMAP_PASSWORD is missing")
        if self.smtp_host and not (self.smtp_from or self.smtp_user):
            raise ValueError("SMTP_HOST is set but SMTP_FROM (or SMTP_USER) is missing")
        return self

    @property
    def bot_enabled(self) -> bool:
        return self.telegram_bot_token is not None and bool(self.telegram_bot_token.get_secret_value())

    @property
    def mail_in_enabled(self) -> bool:
        return bool(self.imap_host)

    @property
    def mail_out_enabled(self) -> bool:
        return bool(self.smtp_host)

    @property
    def attachments_dir(self) -> Path:
        return self.desk_data_dir / "attachments"

    @property
    def origin(self) -> str:
        return self.web_public_origin or f"http://{self.web_host}:{self.web_port}"


def load_settings(**overrides: object) -> Settings:
    """Build settings or raise SettingsError with one line naming the first bad variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise SettingsError(_describe(exc)) from None


def _describe(exc: ValidationError) -> str:
    error = exc.errors()[0]
    location = [str(part) for part in error.get("loc", ())]
    message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
    if not location:
        return f"configuration error: {message}"
    return f"configuration error: {location[0].upper()}: {message}"
