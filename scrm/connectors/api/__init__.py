"""The generic API channel: events in through our API, replies out to a signed URL."""

from scrm.connectors.api.connector import GenericApi

__all__ = ["GenericApi"]
