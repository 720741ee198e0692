"""A click group whose heavy subcommands are imported only when invoked (`scrm nlp` loads spaCy)."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

import click


class LazyGroup(click.Group):
    """Subcommands named in `lazy` ("module:attribute") are imported on first use, then `extend` runs on them."""

    def __init__(
        self,
        *args: Any,
        lazy: Mapping[str, str] | None = None,
        extend: Mapping[str, Callable[[click.Command], None]] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = dict(lazy or {})
        self.extend = dict(extend or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Every subcommand, loaded or not."""
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """The subcommand, importing it the first time it is asked for."""
        if cmd_name in self.lazy and cmd_name not in self.commands:
            module, _, attribute = self.lazy[cmd_name].partition(":")
            command: click.Command = getattr(importlib.import_module(module), attribute)
            if cmd_name in self.extend:
                self.extend[cmd_name](command)
            self.add_command(command, cmd_name)
        return super().get_command(ctx, cmd_name)
