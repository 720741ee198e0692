"""LINE Messaging API connector."""

from scrm.connectors.line.connector import Line

__all__ = ["Line"]
