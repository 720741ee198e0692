"""What the ingress keeps per app: the channel directory and the raw-event writer, created on first use."""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection

from scrm.channel_access import ChannelDirectory
from scrm.models.sealed import SecretBox
from scrm.settings import Settings
from webhooks.ingress import RawEventWriter, new_writer


def channel_directory(connection: ASGIConnection[Any, Any, Any, Any]) -> ChannelDirectory:
    """The app's channel directory (channels and their credentials, opened with SCRM_SECRET_KEY)."""
    state = connection.app.state
    directory: ChannelDirectory | None = state.get("channel_directory")
    if directory is None:
        settings: Settings = state.settings
        directory = state.channel_directory = ChannelDirectory(SecretBox.from_secret_key(settings.secret_key))
    return directory


def raw_event_writer(connection: ASGIConnection[Any, Any, Any, Any]) -> RawEventWriter:
    """The app's group-commit writer of raw events (created inside the running event loop)."""
    state = connection.app.state
    writer: RawEventWriter | None = state.get("raw_event_writer")
    if writer is None:
        writer = state.raw_event_writer = new_writer()
    return writer
