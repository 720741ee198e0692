"""scrm: an open-source social CRM engagement platform."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("scrm")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"
