"""Meta connector: Facebook Pages, Messenger, Instagram and WhatsApp Cloud API."""

from scrm.connectors.meta.connector import Meta
from scrm.connectors.meta.payloads import event_id, parse_body, parse_notification, verify_subscription

__all__ = ["Meta", "event_id", "parse_body", "parse_notification", "verify_subscription"]
