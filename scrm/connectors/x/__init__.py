"""X (Twitter) API v2 and Account Activity connector."""

from scrm.connectors.x.connector import X

__all__ = ["X"]
