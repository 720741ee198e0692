"""The ways Meta writes a moment, read into aware UTC datetimes."""

from __future__ import annotations

from datetime import UTC, datetime


def from_millis(value: int | str) -> datetime:
    """Read epoch milliseconds: Messenger and Instagram ``messaging[].timestamp`` and ``watermark``."""
    return datetime.fromtimestamp(int(value) / 1000, UTC)


def from_seconds(value: int | str) -> datetime:
    """Read epoch seconds: Page ``feed`` ``created_time``, ``entry[].time``, WhatsApp ``timestamp`` (a string)."""
    return datetime.fromtimestamp(int(value), UTC)


def from_iso(value: str) -> datetime:
    """Read a Graph API time field such as ``2026-01-01T09:00:00+0000`` (ISO 8601 with a ``+0000`` offset)."""
    return datetime.fromisoformat(value).astimezone(UTC)


def to_seconds(value: str | int) -> int:
    """Turn a stored cursor (a Graph ISO time, or epoch seconds) into epoch seconds for ``since``."""
    if isinstance(value, int) or value.isdigit():
        return int(value)
    return int(from_iso(value).timestamp())
