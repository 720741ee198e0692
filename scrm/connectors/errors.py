"""What can go wrong when calling a platform, in terms the caller can act on.

``TemporaryFailure`` and ``RateLimited``: try again later. ``RequestRejected`` and its subclasses: do not
retry the same request; a stream treats ``RequestIgnored`` as the end of its data.
"""

from __future__ import annotations


class ConnectorError(Exception):
    """A platform call did not produce the result asked for."""


class TemporaryFailure(ConnectorError):
    """The platform failed in a way that may pass (5xx, network); retries, if allowed, are used up."""


class RateLimited(TemporaryFailure):
    """The platform asked us to slow down for longer than we are willing to wait inline."""

    def __init__(self, message: str, retry_after: float | None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RequestRejected(ConnectorError):
    """The platform refused the request; sending it again unchanged fails the same way."""

    def __init__(self, message: str, *, status: int, code: int | str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class RequestIgnored(RequestRejected):
    """The platform says the thing asked for is gone (404, 410): a stream ends quietly, a send gives up."""


class AuthRejected(RequestRejected):
    """The credentials or access token were refused, even after one refresh."""


class PermissionDenied(AuthRejected):
    """The access token works but lacks a permission the call needs; someone must grant it again."""


class RecipientUnavailable(RequestRejected):
    """The person cannot receive messages from us now (blocked us, deactivated; Meta error 551)."""


class MessagingWindowClosed(RequestRejected):
    """The platform's customer-service window for this recipient has closed (WeChat errcode 45015)."""


class MessageLimitReached(RequestRejected):
    """The platform's count of messages allowed in the window is used up (WeChat errcode 45047)."""


class UnknownPlatform(LookupError):
    """No connector is registered under the given platform key."""
