"""One frozen Settings object, read from `SCRM_*` environment variables and validated at start-up."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

LOG_LEVELS = ("debug", "info", "warning", "error")


class SettingsError(ValueError):
    """A `SCRM_*` variable holds a value scrm cannot use; the message names the variable and the fix."""


def default_home() -> Path:
    """Where scrm keeps its data by default: `$XDG_DATA_HOME/scrm`, else `~/.local/share/scrm`."""
    xdg = os.environ.get("XDG_DATA_HOME")
    base = Path(xdg) if xdg else Path.home() / ".local" / "share"
    return base / "scrm"


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything scrm reads from its environment. Build it with `Settings.from_env()`."""

    home: Path
    mongodb_uri: str | None
    database: str
    host: str
    port: int
    webhooks_port: int
    mongod_port: int
    public_url: str
    log_level: str
    secret_key: str | None
    max_webhook_body: int
    raw_event_ttl_days: int
    assets_dir: Path

    @property
    def embedded(self) -> bool:
        """True when scrm runs its own bundled mongod (no `SCRM_MONGODB_URI` given)."""
        return self.mongodb_uri is None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read and validate every `SCRM_*` variable; raise SettingsError naming the first bad one."""
        env = os.environ if environ is None else environ
        port = _read(env, "SCRM_PORT", _port, 8000)
        home = _read(env, "SCRM_HOME", _path, default_home())
        return cls(
            home=home,
            mongodb_uri=_read(env, "SCRM_MONGODB_URI", _mongodb_uri, None),
            database=_read(env, "SCRM_DATABASE", _database_name, "scrm"),
            host=_read(env, "SCRM_HOST", _non_empty, "127.0.0.1"),
            port=port,
            webhooks_port=_read(env, "SCRM_WEBHOOKS_PORT", _port, 8001),
            mongod_port=_read(env, "SCRM_MONGOD_PORT", _port, 27217),
            public_url=_read(env, "SCRM_PUBLIC_URL", _url, f"http://127.0.0.1:{port}"),
            log_level=_read(env, "SCRM_LOG_LEVEL", _log_level, "info"),
            secret_key=_read(env, "SCRM_SECRET_KEY", _non_empty, None),
            max_webhook_body=_read(env, "SCRM_MAX_WEBHOOK_BODY", _positive_int, 1024 * 1024),
            raw_event_ttl_days=_read(env, "SCRM_RAW_EVENT_TTL_DAYS", _positive_int, 30),
            assets_dir=_read(env, "SCRM_ASSETS_DIR", _path, _repository_root() / "node_modules"),
        )

    def describe(self) -> dict[str, str]:
        """The settings as printable strings, with secrets masked."""
        shown: dict[str, str] = {}
        for field in fields(self):
            value: Any = getattr(self, field.name)
            if field.name == "secret_key" and value:
                value = "********"
            if field.name == "mongodb_uri" and value:
                value = _mask_uri_password(value)
            shown[field.name] = "" if value is None else str(value)
        return shown


def _repository_root() -> Path:
    return Path(__file__).resolve().parent.parent


def _read(env: Mapping[str, str], name: str, parse: Callable[[str], T], default: T) -> T:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return parse(raw.strip())
    except ValueError as exc:
        raise SettingsError(f"{name}={raw!r} is not valid: {exc}") from None


def _port(raw: str) -> int:
    value = _int(raw)
    if not 1 <= value <= 65535:
        raise ValueError("a TCP port is a whole number from 1 to 65535")
    return value


def _positive_int(raw: str) -> int:
    value = _int(raw)
    if value < 1:
        raise ValueError("expected a whole number of at least 1")
    return value


def _int(raw: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise ValueError("expected a whole number") from None


def _path(raw: str) -> Path:
    return Path(raw).expanduser()


def _non_empty(raw: str) -> str:
    return raw


def _mongodb_uri(raw: str) -> str:
    if not raw.startswith(("mongodb://", "mongodb+srv://")):
        raise ValueError("a MongoDB connection string starts with mongodb:// or mongodb+srv://")
    return raw


def _database_name(raw: str) -> str:
    if any(ch in raw for ch in '/\\. "$') or len(raw) > 63:
        raise ValueError('a database name has at most 63 characters and none of / \\ . space " $')
    return raw


def _url(raw: str) -> str:
    if not raw.startswith(("http://", "https://")):
        raise ValueError("expected an http:// or https:// address")
    return raw.rstrip("/")


def _log_level(raw: str) -> str:
    level = raw.lower()
    if level not in LOG_LEVELS:
        raise ValueError(f"expected one of {', '.join(LOG_LEVELS)}")
    return level


def _mask_uri_password(uri: str) -> str:
    scheme, sep, rest = uri.partition("://")
    credentials, at, host = rest.partition("@")
    if not at or ":" not in credentials:
        return uri
    user = credentials.split(":", 1)[0]
    return f"{scheme}{sep}{user}:****@{host}"
