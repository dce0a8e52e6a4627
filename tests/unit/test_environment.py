"""Settings.from_env: every variable parsed and validated (pydantic-settings); a wrong value is
one line naming the variable, never a silent fallback."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.config import ConfigError, Settings


def test_unset_and_empty_variables_are_the_defaults() -> None:
    assert Settings.from_env({}) == Settings()
    assert Settings.from_env({"DATABASE_URL": "", "REDIS_URL": ""}) == Settings()


def test_values_are_parsed_into_the_settings() -> None:
    settings = Settings.from_env(
        {
            "DATABASE_URL": "postgresql://u@db:5433/ev?schema=s",
            "REDIS_URL": "redis://cache:6379/2",
            "EVENTRY_DATA_DIR": "/srv/eventry",
            "EVENTRY_PROJECTION_THREAD": "Yes",
            "EVENTRY_LOG_LEVEL": "debug",
            "EVENTRY_LOG_FORMAT": "TEXT",
            "EVENTRY_RELAY_OPEN_REGISTRATION": "no",
            "EVENTRY_FEATURES": "organizations:a, organizations:b,",
            "EVENTRY_GIT_ROOTS": "/a:/b/{org_id}",
            "EVENTRY_TRUSTED_PROXIES": "2",
            "EVENTRY_READY_MAX_LAG": "50",
            "EVENTRY_READY_MAX_HEARTBEAT_AGE": "7.5",
            "UNRELATED": "ignored",
        }
    )
    assert settings.is_postgres and settings.redis_url == "redis://cache:6379/2"
    assert settings.data_dir == Path("/srv/eventry") and settings.projection_thread is True
    assert (settings.log_level, settings.log_json) == ("DEBUG", False)
    assert settings.relay_open_registration is False
    assert settings.features == frozenset({"organizations:a", "organizations:b"})
    assert settings.git_roots == ("/a", "/b/{org_id}")
    assert settings.trusted_proxies == 2 and settings.ready_max_lag == 50
    assert settings.ready_max_heartbeat_age == 7.5
    assert Settings.from_env({"EVENTRY_PROJECTION_THREAD": "auto"}).projection_thread is None


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("DATABASE_URL", "mysql://root:pw@db/ev", "scheme 'mysql'"),
        ("DATABASE_URL", "postgre://db/ev", "scheme 'postgre'"),
        ("DATABASE_URL", "db/ev", "no scheme"),
        ("DATABASE_URL", "sqlite://relative.db", "a SQLite URL is sqlite:///PATH"),
        ("REDIS_URL", "http://cache:6379", "scheme 'http'"),
        ("SMTP_URL", "mail.example.com", "no scheme"),
        ("EVENTRY_BATCH_SIZE", "0", "greater than or equal to 1"),
        ("EVENTRY_SNOWFLAKE_REGION", "4096", "less than or equal to 4095"),
        ("EVENTRY_LOG_LEVEL", "loud", "not a log level"),
        ("EVENTRY_LOG_FORMAT", "xml", "'json' or 'text'"),
        ("EVENTRY_RELAY_OPEN_REGISTRATION", "maybe", "valid boolean"),
        ("EVENTRY_TRUSTED_PROXIES", "-1", "greater than or equal to 0"),
    ],
)
def test_a_wrong_value_is_one_line_naming_the_variable(name: str, value: str, says: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({name: value})
    message = str(caught.value)
    assert message.startswith(f"{name}") and says in message and "\n" not in message
    assert "correct it, or unset it for " in message
    if name.endswith("_URL"):
        assert value not in message, "a URL may hold a password"
