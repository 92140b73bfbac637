"""Settings read from the environment and .env, validated once at start-up."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

SUPPORTED_LOCALES = ("kk", "ru", "en")
TOKEN_RE = re.compile(r"^[0-9]{3,20}:[A-Za-z0-9_-]{20,}$")
# Telegram allows 1-256 of these characters for the webhook secret; 32 make it unguessable.
SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{32,256}$")
WEAK_SECRET = ("too weak: use 32 to 256 characters of A-Z, a-z, 0-9, _ and - (e.g. python -c "
               "\"import secrets; print(secrets.token_urlsafe(32))\")")
WEEKLY_REMINDER_RE = r"^(off|(mon|tue|wed|thu|fri|sat|sun) ([01][0-9]|2[0-3]):[0-5][0-9])$"


def wa_address(typed: str) -> str:
    """A WhatsApp person as STAFF_WHATSAPP names them: a phone number as WhatsApp writes it
    (digits only: "+7 701 123-45-67" is "77011234567"), else their id as it is."""
    typed = typed.strip()
    digits = "".join(ch for ch in typed if ch.isascii() and ch.isdigit())
    if digits and all(ch in "+-() " or (ch.isascii() and ch.isdigit()) for ch in typed):
        return digits
    return typed


class ConfigError(Exception):
    """A setting has a bad value; the message names the variable."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    bot_token: SecretStr | None = None
    database_url: str = "sqlite+inline:///data/bot.db"
    bot_api_base_url: str | None = None
    staff_ids: Annotated[frozenset[int], NoDecode] = frozenset()
    default_locale: str = "kk"
    timezone: str = "Asia/Almaty"
    log_level: str = "INFO"
    log_format: str = "text"
    redis_url: str | None = None
    redis_prefix: str = "bot"  # this bot's keys and channels in Redis: "<prefix>:..."
    delivery_rate: float = Field(default=25.0, gt=0, le=1000)
    broadcasts_per_day: int = Field(default=5, ge=0)
    consent_version: str = "2026-12"
    guardian_age: int = Field(default=16, ge=0, le=18)
    # How people reach the centre (a phone, an e-mail, a @username): shown wherever the bot
    # sends someone to the centre; without it no text tells them to contact the centre.
    centre_contact: str = Field(default="", max_length=200)
    # When coordinators who have not filed this week's report are reminded (Almaty time):
    # "<day> HH:MM" (mon … sun), or "off" (bot.services.weekly.reminder_time).
    weekly_reminder: str = Field(default="fri 16:00", pattern=WEEKLY_REMINDER_RE)
    flood_limit: int = Field(default=20, ge=1)
    flood_window: float = Field(default=10.0, gt=0)
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    webhook_host: str = "127.0.0.1"
    webhook_port: int = 8080
    # /metrics and /healthz: a bearer token, and/or a listener of their own
    metrics_token: SecretStr | None = None
    metrics_host: str = "127.0.0.1"
    metrics_port: int | None = Field(default=None, ge=1, le=65535)
    # the public verification page's address (bot.web.verify): certificates' QR codes lead
    # to <PUBLIC_BASE_URL>/v/<number>; unset, they lead to t.me/<bot>?start=v_<number>
    public_base_url: str | None = None
    # caches and temporary files (default: the SQLite database's folder, else ./data)
    data_dir: Path | None = None
    # WhatsApp Business Cloud API (bot/channels/whatsapp): on when the token and the phone
    # number id are both set; the app secret checks every webhook (X-Hub-Signature-256)
    whatsapp_token: SecretStr | None = None
    whatsapp_phone_number_id: str | None = None
    whatsapp_app_secret: SecretStr | None = None
    whatsapp_verify_token: SecretStr | None = None
    whatsapp_api_base_url: str | None = None  # a fake or an egress proxy instead of Meta's
    whatsapp_rate: float = Field(default=40.0, gt=0, le=80)  # messages/s (Meta: 80 at most)
    # people outside the 24-hour window messaged per 24 h (Meta's tier: 250, 1K, 10K, …)
    whatsapp_daily_limit: int = Field(default=1000, ge=1)
    whatsapp_business_account_id: str | None = None  # /wa_templates checks its templates
    # WhatsApp people who become staff as STAFF_IDS do: phone numbers (digits kept) or ids
    staff_whatsapp: Annotated[frozenset[str], NoDecode] = frozenset()
    # a WhatsApp contact who never registered is forgotten (with the files they sent) this
    # many days after their last message (bot.services.identity.forget_strangers)
    whatsapp_contact_retention_days: int = Field(default=30, ge=1, le=3650)

    @field_validator("bot_token", mode="before")
    @classmethod
    def _check_token(cls, value: object) -> object:
        if value in (None, ""):
            return None
        if not TOKEN_RE.match(str(value)):
            raise ValueError(
                "malformed token, expected '<digits>:<secret>' as given by @BotFather")
        return value

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str) -> str:
        from db.engine import sqlite_url_problem

        problem = sqlite_url_problem(value)
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("webhook_secret", "metrics_token", mode="before")
    @classmethod
    def _check_secret(cls, value: object) -> object:
        if value in (None, ""):
            return None
        raw = value.get_secret_value() if isinstance(value, SecretStr) else str(value)
        if not SECRET_RE.match(raw):
            raise ValueError(WEAK_SECRET)
        return value

    @field_validator("metrics_port", "data_dir", "whatsapp_token", "whatsapp_phone_number_id",
                     "whatsapp_app_secret", "whatsapp_verify_token", "whatsapp_api_base_url",
                     mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("public_base_url", mode="before")
    @classmethod
    def _check_public_base_url(cls, value: object) -> object:
        if value in (None, ""):
            return None
        parts = urlsplit(str(value))
        if parts.scheme not in ("https", "http") or not parts.hostname or parts.query:
            raise ValueError("use the page's public address, e.g. https://bot.example.kz")
        return str(value).rstrip("/")

    @field_validator("staff_ids", mode="before")
    @classmethod
    def _parse_staff_ids(cls, value: object) -> object:
        if isinstance(value, str):
            parts = [p.strip() for p in value.split(",") if p.strip()]
            # ASCII digits only: int() would also read "٣" and fail on "²"
            bad = [p for p in parts if not (p.isascii() and p.removeprefix("-").isdigit())]
            if bad:
                raise ValueError(f"not a numeric Telegram user id: {bad[0]!r}")
            return frozenset(int(p) for p in parts)
        return value

    @field_validator("staff_whatsapp", mode="before")
    @classmethod
    def _parse_staff_whatsapp(cls, value: object) -> object:
        if isinstance(value, str):
            return frozenset(wa_address(p) for p in value.split(",") if p.strip())
        return value

    @field_validator("default_locale")
    @classmethod
    def _check_locale(cls, value: str) -> str:
        if value not in SUPPORTED_LOCALES:
            choices = ", ".join(SUPPORTED_LOCALES)
            raise ValueError(f"unknown locale {value!r}, use one of {choices}")
        return value

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("log_level")
    @classmethod
    def _check_log_level(cls, value: str) -> str:
        if value.upper() not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError(f"unknown log level {value!r}")
        return value.upper()

    @field_validator("log_format")
    @classmethod
    def _check_log_format(cls, value: str) -> str:
        if value not in {"text", "json"}:
            raise ValueError("use 'text' or 'json'")
        return value

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def token(self) -> str | None:
        return self.bot_token.get_secret_value() if self.bot_token else None

    @property
    def whatsapp_enabled(self) -> bool:
        return self.whatsapp_token is not None and bool(self.whatsapp_phone_number_id)

    @property
    def data_folder(self) -> Path:
        """Where the bot keeps its own files: DATA_DIR, else the SQLite database's folder."""
        if self.data_dir is not None:
            return self.data_dir
        from sqlalchemy.engine import make_url

        url = make_url(self.database_url)
        if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
            return Path(url.database).parent
        return Path("data")

    def secret_values(self) -> list[str]:
        """Every secret this process knows, for the logs to redact: each SecretStr setting
        (a new one, e.g. a WhatsApp token, is covered by being declared SecretStr) and the
        passwords inside the database and Redis URLs."""
        values = [value.get_secret_value() for name in type(self).model_fields
                  if isinstance(value := getattr(self, name), SecretStr)]
        for url in (self.database_url, self.redis_url):
            password = urlsplit(url).password if url else None
            if password:
                values += [password, unquote(password)]
        return [v for v in values if v]


def load_settings(**overrides: object) -> Settings:
    """Build settings; raise ConfigError naming the first bad variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        err = exc.errors()[0]
        name = str(err["loc"][0]).upper() if err["loc"] else "settings"
        reason = str(err["msg"]).removeprefix("Value error, ")
        raise ConfigError(f"{name}: {reason}") from None
