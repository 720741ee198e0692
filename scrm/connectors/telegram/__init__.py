"""Telegram Bot API connector."""

from scrm.connectors.telegram.connector import Telegram

__all__ = ["Telegram"]
