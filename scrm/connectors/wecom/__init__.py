"""WeCom (企业微信) connector: customer contact and customer service."""

from scrm.connectors.wecom.connector import WeCom

__all__ = ["WeCom"]
