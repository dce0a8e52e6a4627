"""The environment variables of eventry, parsed and validated by pydantic-settings.

``Settings.from_env`` (infra/config.py) reads them through ``Environment`` so that a mistyped value
is refused when the process starts, with one line naming the variable and the fix, instead of
being guessed at (a ``mysql://`` DATABASE_URL used to mean SQLite under ./var).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlparse

from pydantic import AliasChoices, Field, ValidationError, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

DATABASE_SCHEMES = ("postgresql", "postgres", "sqlite")
REDIS_SCHEMES = ("redis", "rediss", "unix")
SMTP_SCHEMES = ("smtp", "smtps")
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
UNSET_MEANS = {
    "DATABASE_URL": "SQLite under EVENTRY_DATA_DIR",
    "REDIS_URL": "the data directory's own Redis",
    "SMTP_URL": ".eml files under EVENTRY_DATA_DIR",
}


class ConfigError(ValueError):
    """A setting that cannot be used as given; the message is one line naming it and the fix."""


def var(name: str, default: Any, **constraints: Any) -> Any:
    """A field read from the environment variable NAME (exactly as spelled)."""
    return Field(default, validation_alias=AliasChoices(name), **constraints)


class Environment(BaseSettings):
    model_config = SettingsConfigDict(case_sensitive=True, env_ignore_empty=True, extra="ignore")

    database_url: str | None = var("DATABASE_URL", None)
    redis_url: str | None = var("REDIS_URL", None)
    redis_cluster: bool = var("EVENTRY_REDIS_CLUSTER", False)
    database_replica_url: str | None = var("DATABASE_REPLICA_URL", None)
    replica_max_lag: float = var("EVENTRY_REPLICA_MAX_LAG", 2.0, ge=0)
    data_dir: Path = var("EVENTRY_DATA_DIR", Path("var"))
    read_wait_timeout: float = var("EVENTRY_READ_WAIT_TIMEOUT", 5.0, ge=0)
    read_your_writes_ttl: int = var("EVENTRY_READ_YOUR_WRITES_TTL", 300, ge=1)
    lookup_cache_seconds: float = var("EVENTRY_LOOKUP_CACHE_SECONDS", 1.0, ge=0)
    poll_interval: float = var("EVENTRY_POLL_INTERVAL", 0.05, gt=0)
    projection_thread: Literal["auto"] | bool = var("EVENTRY_PROJECTION_THREAD", "auto")
    batch_size: int = var("EVENTRY_BATCH_SIZE", 500, ge=1)
    log_level: str = var("EVENTRY_LOG_LEVEL", "INFO")
    log_format: Literal["json", "text"] = var("EVENTRY_LOG_FORMAT", "json")
    url_prefix: str = var("EVENTRY_URL_PREFIX", "http://127.0.0.1:8000")
    secret_key: str | None = var("EVENTRY_SECRET_KEY", None)
    internal_relays: str = var("EVENTRY_INTERNAL_RELAYS", "")
    relay_open_registration: bool = var("EVENTRY_RELAY_OPEN_REGISTRATION", True)
    features: str = var("EVENTRY_FEATURES", "")
    smtp_url: str | None = var("SMTP_URL", None)
    mail_from: str = var("EVENTRY_MAIL_FROM", "eventry@localhost")
    metrics_token: str | None = var("EVENTRY_METRICS_TOKEN", None)
    git_roots: str = var("EVENTRY_GIT_ROOTS", "")
    snowflake_region: int = var("EVENTRY_SNOWFLAKE_REGION", 0, ge=0, le=4095)
    trusted_proxies: int = var("EVENTRY_TRUSTED_PROXIES", 0, ge=0)
    ready_max_lag: int = var("EVENTRY_READY_MAX_LAG", 1000, ge=0)
    ready_max_heartbeat_age: float = var("EVENTRY_READY_MAX_HEARTBEAT_AGE", 30.0, gt=0)

    @classmethod
    def settings_customise_sources(
        cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource, *_: Any, **__: Any
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Only the mapping parse() hands over (the process's environment, or a test's): no .env
        # file or secrets directory may change what a deployment runs with.
        return (init_settings,)

    @field_validator("database_url")
    @classmethod
    def _database(cls, url: str | None) -> str | None:
        scheme = _scheme(url, DATABASE_SCHEMES)
        if scheme == "sqlite" and not (url or "").startswith("sqlite:///"):
            raise ValueError("a SQLite URL is sqlite:///PATH")
        return url

    @field_validator("database_replica_url")
    @classmethod
    def _replica(cls, url: str | None) -> str | None:
        _scheme(url, DATABASE_SCHEMES[:2])  # a PostgreSQL streaming replica
        return url

    @field_validator("redis_url")
    @classmethod
    def _redis(cls, url: str | None) -> str | None:
        _scheme(url, REDIS_SCHEMES)
        return url

    @field_validator("smtp_url")
    @classmethod
    def _smtp(cls, url: str | None) -> str | None:
        _scheme(url, SMTP_SCHEMES)
        return url

    @field_validator("url_prefix")
    @classmethod
    def _prefix(cls, url: str) -> str:
        _scheme(url, ("http", "https"))
        return url

    @field_validator("log_level", mode="before")
    @classmethod
    def _level(cls, level: Any) -> Any:
        if str(level).upper() not in LEVELS:
            raise ValueError(f"not a log level (one of {', '.join(LEVELS)})")
        return str(level).upper()

    @field_validator("projection_thread", "log_format", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value


def _scheme(url: str | None, allowed: tuple[str, ...]) -> str | None:
    if url is None:
        return None
    scheme = urlparse(url).scheme
    if scheme not in allowed:
        given = f"scheme {scheme!r}" if scheme else "no scheme"
        raise ValueError(f"{given}; the URL must start with {' or '.join(s + '://' for s in allowed)}")
    return scheme


def parse(environ: Mapping[str, str] | None = None) -> Environment:
    """The settings of ENVIRON (the process's environment by default); ConfigError when one is wrong."""
    given: dict[str, Any] = {k: v for k, v in (os.environ if environ is None else environ).items() if v != ""}
    try:
        return Environment(**given)
    except ValidationError as exc:
        raise ConfigError(_one_line(exc, given)) from None


def _one_line(exc: ValidationError, given: Mapping[str, str]) -> str:
    error = exc.errors()[0]
    name = str(error["loc"][0]) if error["loc"] else "environment"
    message = str(error["msg"]).removeprefix("Value error, ")
    field = _field(name)
    unset = UNSET_MEANS.get(name) or f"the default, {field.default if field else 'none'}"
    # URLs may hold passwords, keys are secrets: only the variable's name is printed.
    shown = "" if "URL" in name or "SECRET" in name or "TOKEN" in name else f"={given.get(name, '')!r}"
    return f"{name}{shown} is not valid: {message}; correct it, or unset it for {unset}"


def _field(alias: str) -> FieldInfo | None:
    for info in Environment.model_fields.values():
        choices = info.validation_alias
        if isinstance(choices, AliasChoices) and alias in choices.choices:
            return info
    return None
