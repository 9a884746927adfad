"""Opening the hub from the CLI's ``--config`` option."""

from __future__ import annotations

import click

from hub.app import Hub

__all__ = ["open_hub"]


def open_hub(ctx: click.Context) -> Hub:
    """The Hub for this invocation (loaded once, closed when the command ends)."""
    root = ctx.find_root()
    if "hub" not in root.obj:
        hub = Hub.from_path(root.obj["config_path"])
        root.obj["hub"] = hub
        root.call_on_close(hub.close)
    return root.obj["hub"]
