"""Settings, read once in the composition root and passed down."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

TELEGRAM_PUBLIC_API = "https://api.telegram.org"
SANDBOX_PATH = "/sandbox"  # where the built-in sandbox serves its Bot API and page, on the desk's own port
SANDBOX_BOT_ID = 5_000_000_001
SANDBOX_BOT_USERNAME = "desk_sandbox_bot"


class SettingsError(Exception):
    """One line that names the variable at fault; shown instead of a traceback."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    database_url: str | None = None
    database_pool_size: int = Field(default=30, ge=1, le=500)
    # the server itself, for what holds session state (LISTEN, the event reader, session-level advisory
    # locks: scheduler leader, outbox lease owner, mailbox poller) and for migrations; unset: DATABASE_URL
    database_direct_url: str | None = None
    # what DATABASE_URL points at: "pgbouncer" (transaction or statement pooling: no prepared statements
    # kept across transactions), "none", or "auto": pgbouncer when DATABASE_DIRECT_URL differs from it
    database_pooler: Literal["auto", "none", "pgbouncer"] = "auto"
    health_grace_seconds: float = Field(default=5.0, ge=0, le=3600)
    desk_data_dir: Path = Path("./var")
    telegram_bot_token: SecretStr | None = None
    telegram_api_base: str = TELEGRAM_PUBLIC_API
    telegram_bot_username: str | None = None
    telegram_webhook_url: str | None = None
    telegram_webhook_secret: SecretStr | None = None
    telegram_rate_global: float = Field(default=30.0, gt=0)
    telegram_rate_per_chat: float = Field(default=1.0, gt=0)
    # the built-in Telegram sandbox: unset = on when TELEGRAM_BOT_TOKEN is unset; true = on even with a
    # token (staging; the real token is not used); false = off (no token: the bot is off)
    telegram_sandbox: bool | None = None
    web_host: str = "127.0.0.1"
    web_port: int = Field(default=8080, ge=1, le=65535)
    web_public_origin: str | None = None
    secret_key: SecretStr = SecretStr("dev-insecure-change-me")
    widget_enabled: bool = True  # serve the website chat widget (/widget.js, /widget/ws); signs with secret_key
    # an operator's reply the widget has not shown this long after it was sent goes to the visitor's e-mail too
    widget_email_after_seconds: float = Field(default=120.0, ge=0)
    # the widget's rate limits, per process: frames per visitor and per client IP (burst, then per second),
    # new sockets / event streams per IP per minute
    widget_visitor_burst: int = Field(default=30, ge=1)
    widget_visitor_rate: float = Field(default=2.0, gt=0)
    widget_ip_burst: int = Field(default=60, ge=1)
    widget_ip_rate: float = Field(default=5.0, gt=0)
    widget_connects_per_minute: int = Field(default=60, ge=1)
    # proxies whose X-Forwarded-For is believed (comma-separated addresses or networks); unset: none
    trusted_proxies: str = ""
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
    file_store: Literal["database", "folder"] = "database"
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
    # Auto-assignment (queues whose switch is on): the most open tickets an operator holds before the
    # desk gives them no more, how long an operator may be away before their tickets go to someone
    # online, and how often the leader looks for tickets to give out (new ones are given at once).
    auto_assign_max_open: int = Field(default=5, ge=1, le=1000)
    auto_assign_offline_minutes: float = Field(default=10.0, gt=0)
    auto_assign_seconds: float = Field(default=30.0, gt=0)
    prune_seconds: float = Field(default=3600.0, gt=0)  # the pruning jobs: events, files, KB misses, receipts
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @field_validator("database_pooler", mode="before")
    @classmethod
    def _lower_pooler(cls, value: object) -> object:
        return value.strip().lower() or "auto" if isinstance(value, str) else value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("database_url", "database_direct_url")
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

    @field_validator("trusted_proxies")
    @classmethod
    def _check_networks(cls, value: str) -> str:
        for part in value.split(","):
            if part.strip():
                try:
                    ipaddress.ip_network(part.strip(), strict=False)
                except ValueError as exc:
                    raise ValueError(f"not an address or network: {part.strip()!r}") from exc
        return value

    @model_validator(mode="after")
    def _check_combinations(self) -> Settings:
        if self.database_direct_url and not self.database_url:
            raise ValueError("DATABASE_DIRECT_URL is set but DATABASE_URL is not")
        if self.telegram_webhook_url and not self.telegram_webhook_secret:
            raise ValueError("TELEGRAM_WEBHOOK_URL is set but TELEGRAM_WEBHOOK_SECRET is not")
        if self.imap_host and not (self.imap_user and self.imap_password):
            raise ValueError("IMAP_HOST is set but IMAP_USER or IMAP_PASSWORD is missing")
        if self.smtp_host and not (self.smtp_from or self.smtp_user):
            raise ValueError("SMTP_HOST is set but SMTP_FROM (or SMTP_USER) is missing")
        return self

    @property
    def behind_pooler(self) -> bool:
        """Whether DATABASE_URL goes through a transaction-pooling proxy such as PgBouncer."""
        if self.database_pooler != "auto":
            return self.database_pooler == "pgbouncer"
        return bool(self.database_direct_url) and self.database_direct_url != self.database_url

    @property
    def bot_enabled(self) -> bool:
        return self.telegram_bot_token is not None and bool(self.telegram_bot_token.get_secret_value())

    @property
    def sandbox_wanted(self) -> bool:
        return self.telegram_sandbox is True or (self.telegram_sandbox is None and not self.bot_enabled)

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


def sandboxed(settings: Settings) -> Settings:
    """The settings of a desk whose bot talks to the built-in sandbox: a token derived from SECRET_KEY
    (so `desk run --only bot` and `--only web` processes agree on it without sharing anything else),
    the Bot API at this desk's own port under /sandbox, long polling (no webhook). Unchanged when the
    sandbox is not wanted."""
    if not settings.sandbox_wanted:
        return settings
    digest = hmac.new(settings.secret_key.get_secret_value().encode(), b"telegram-sandbox", hashlib.sha256)
    token = f"{SANDBOX_BOT_ID}:{digest.hexdigest()[:35]}"
    host = settings.web_host if settings.web_host not in ("0.0.0.0", "::", "") else "127.0.0.1"  # noqa: S104
    host = f"[{host}]" if ":" in host else host
    return settings.model_copy(update={
        "telegram_sandbox": True,
        "telegram_bot_token": SecretStr(token),
        "telegram_api_base": f"http://{host}:{settings.web_port}{SANDBOX_PATH}",
        "telegram_bot_username": settings.telegram_bot_username or SANDBOX_BOT_USERNAME,
        "telegram_webhook_url": None,
        "telegram_webhook_secret": None,
    })


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
