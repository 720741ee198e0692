"""The API fixtures (an app with a fixed clock, two workspaces, the scope guard) for the merge API tests."""

from tests.api.conftest import api, keyed_settings, scope_guard, world

__all__ = ["api", "keyed_settings", "scope_guard", "world"]
