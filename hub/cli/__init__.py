"""The ``hub`` command. Exit codes: 0 ok, 1 records quarantined or invalid, 2 usage or configuration error.

Each subcommand is a thin layer over a service function; errors are printed as one message
naming the file, line or config key (never a traceback; ``HUB_DEBUG=1`` shows one).
"""

from __future__ import annotations

import gc
import importlib
import logging
import os
import warnings

import click

from hub.cli import commands, logs
from hub.cli.output import fail, say
from hub.errors import HubError
from hub.store.failures import in_words

__all__ = ["cli", "main"]


# Commands whose modules load only when the command is asked for: ``hub run`` (what the
# scheduler and cron call, over and over) does not pay for reconciliation, passwords and the rest.
_LAZY = {
    "backup": "hub.cli.backup_cmd",
    "compare": "hub.cli.compare_cmd",
    "enqueue": "hub.cli.serve_cmd",
    "quarantine": "hub.cli.quarantine_cmd",
    "reconcile": "hub.cli.reconcile_cmd",
    "report": "hub.cli.report_cmd",
    "resend": "hub.cli.resend_cmd",
    "restore": "hub.cli.backup_cmd",
    "matches": "hub.cli.reconcile_cmd",
    "schedule": "hub.cli.serve_cmd",
    "schema": "hub.cli.schema_cmd",
    "serve": "hub.cli.serve_cmd",
    "validate": "hub.cli.schema_cmd",
    "state": "hub.cli.state_cmd",
    "status": "hub.cli.serve_cmd",
    "tokens": "hub.cli.tokens_cmd",
    "users": "hub.cli.users_cmd",
    "worker": "hub.cli.serve_cmd",
}


class _LazyGroup(click.Group):
    """A group that imports a command's module the first time the command is looked up."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *_LAZY})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in self.commands and name in _LAZY:
            module = importlib.import_module(_LAZY[name])
            for command in module.COMMANDS:
                self.add_command(command)
        return super().get_command(ctx, name)


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option(
    "-c",
    "--config",
    "config_path",
    envvar="HUB_CONFIG",
    default="hub.yaml",
    show_default=True,
    type=click.Path(dir_okay=False),
    help="The hub's config file.",
)
@click.option("-v", "--verbose", is_flag=True, help="Log what the hub does to stderr.")
@click.option(
    "--log-format",
    type=click.Choice(logs.FORMATS),
    default="text",
    show_default=True,
    envvar="HUB_LOG_FORMAT",
    help="json: one JSON object per log line (time, level, logger, message, fields), for a log collector.",
)
@click.version_option(package_name="wasl-hub", prog_name="hub")
@click.pass_context
def cli(ctx: click.Context, config_path: str, verbose: bool, log_format: str) -> None:
    """Wasl Hub (وصل): sync association, donation and distribution data through one common schema."""
    ctx.obj = {"config_path": config_path}
    logs.configure(verbose=verbose, form=log_format)


for command in commands.COMMANDS:
    cli.add_command(command)


def _warning(message, category, filename, lineno, file=None, line=None):
    if logs.as_json():
        logging.getLogger("py.warnings").warning("%s", message)
    else:
        say(("warning:", "yellow"), f" {message}", err=True)


def main() -> None:
    """Entry point of the ``hub`` command."""
    warnings.showwarning = _warning
    # Modules, classes and functions loaded so far live as long as the process: moved out of
    # the collector's generations, they are not walked again by every full collection. A run
    # allocates millions of short-lived objects, and this takes about 10% off a large sync
    # (bench/pipeline.py). Done once, here, so nothing later is frozen by mistake.
    gc.freeze()
    try:
        rc = cli.main(standalone_mode=False, prog_name="hub")
    except click.exceptions.Abort:
        fail("aborted", 130)
    except click.exceptions.Exit as exc:
        raise SystemExit(exc.exit_code) from None
    except click.ClickException as exc:
        exc.show()
        raise SystemExit(2) from None
    except HubError as exc:
        if os.environ.get("HUB_DEBUG"):
            raise
        fail(str(exc), exc.exit_code)
    except KeyboardInterrupt:
        fail("interrupted", 130)
    except BrokenPipeError:
        raise SystemExit(0) from None
    except Exception as exc:  # noqa: BLE001 - a bug must still not show users a traceback
        if os.environ.get("HUB_DEBUG"):
            raise
        if isinstance(exc, OSError) and exc.filename is not None:
            # The machine said no (no space left, no permission, a file gone): not a bug of ours.
            fail(f"{exc.filename}: {exc.strerror or exc}", 2)
        said = in_words(exc)  # the store's machine said no: a full disk, a damaged file, a server gone
        if said is not None:
            fail(str(said), said.exit_code)
        fail(f"internal error: {type(exc).__name__}: {exc} (run again with HUB_DEBUG=1 for details, and report it)", 3)
    raise SystemExit(rc if isinstance(rc, int) else 0)
