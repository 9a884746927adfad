"""The ``hub`` command. Exit codes: 0 ok, 1 records quarantined or invalid, 2 usage or configuration error.

Each subcommand is a thin layer over a service function; errors are printed as one message
naming the file, line or config key (never a traceback; ``HUB_DEBUG=1`` shows one).
"""

from __future__ import annotations

import logging
import os
import sys
import warnings

import click

from hub.cli import commands, quarantine_cmd, reconcile_cmd, schema_cmd, state_cmd, tokens_cmd, users_cmd
from hub.cli.output import err_console, fail
from hub.errors import HubError
from hub.secrets import RedactingFilter

__all__ = ["cli", "main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
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
@click.version_option(package_name="wasl-hub", prog_name="hub")
@click.pass_context
def cli(ctx: click.Context, config_path: str, verbose: bool) -> None:
    """Wasl Hub (وصل): sync association, donation and distribution data through one common schema."""
    ctx.obj = {"config_path": config_path}
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RedactingFilter())
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, handlers=[handler], force=True)


for module in (commands, quarantine_cmd, reconcile_cmd, schema_cmd, state_cmd, tokens_cmd, users_cmd):
    for command in module.COMMANDS:
        cli.add_command(command)


def _warning(message, category, filename, lineno, file=None, line=None):
    err_console.print(f"[yellow]warning:[/] {message}", markup=True, highlight=False)


def main() -> None:
    """Entry point of the ``hub`` command."""
    warnings.showwarning = _warning
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
        fail(f"internal error: {type(exc).__name__}: {exc} (run again with HUB_DEBUG=1 for details, and report it)", 3)
    raise SystemExit(rc if isinstance(rc, int) else 0)
