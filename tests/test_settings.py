"""Settings: defaults, validation with a clear message, masking of secrets."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from scrm.settings import Settings, SettingsError


def test_defaults_use_the_embedded_database_on_port_8000() -> None:
    settings = Settings.from_env({"HOME": "/home/someone"})
    assert settings.embedded
    assert settings.port == 8000
    assert settings.host == "127.0.0.1"
    assert settings.database == "scrm"
    assert settings.public_url == "http://127.0.0.1:8000"


def test_values_come_from_scrm_variables(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {
            "SCRM_PORT": "9000",
            "SCRM_HOME": str(tmp_path),
            "SCRM_MONGODB_URI": "mongodb://db.internal:27017/?replicaSet=rs0",
            "SCRM_LOG_LEVEL": "DEBUG",
        }
    )
    assert settings.port == 9000
    assert settings.home == tmp_path
    assert not settings.embedded
    assert settings.log_level == "debug"
    assert settings.public_url == "http://127.0.0.1:9000"


@pytest.mark.parametrize(
    ("name", "value", "hint"),
    [
        ("SCRM_PORT", "eighty", "whole number"),
        ("SCRM_PORT", "70000", "1 to 65535"),
        ("SCRM_MONGODB_URI", "localhost:27017", "mongodb://"),
        ("SCRM_LOG_LEVEL", "loud", "debug, info"),
        ("SCRM_DATABASE", "my.db", "database name"),
        ("SCRM_PUBLIC_URL", "example.com", "http"),
        ("SCRM_MAX_WEBHOOK_BODY", "0", "at least 1"),
    ],
)
def test_a_bad_value_names_the_variable_and_the_fix(name: str, value: str, hint: str) -> None:
    with pytest.raises(SettingsError) as error:
        Settings.from_env({name: value})
    assert name in str(error.value)
    assert hint in str(error.value)


def test_settings_are_frozen() -> None:
    settings = Settings.from_env({})
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.port = 1  # type: ignore[misc]


def test_describe_masks_secrets() -> None:
    settings = Settings.from_env(
        {"SCRM_SECRET_KEY": "very-secret", "SCRM_MONGODB_URI": "mongodb://app:hunter2@db:27017/?replicaSet=rs0"}
    )
    shown = settings.describe()
    assert "very-secret" not in str(shown)
    assert "hunter2" not in str(shown)
    assert shown["mongodb_uri"].startswith("mongodb://app:****@db:27017")
