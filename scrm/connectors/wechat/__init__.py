"""WeChat Official Account connector, and the message crypto shared with WeCom."""

from scrm.connectors.wechat.connector import WeChat

__all__ = ["WeChat"]
