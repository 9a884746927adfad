"""Every hook a Wasl Hub plugin can implement. This module is the plugin API.

Plugins are found through the ``wasl_hub`` entry-point group (built-ins included, through the
same group) and through plugin folders named in the config. Implement a hook with
``@hub.hookimpl`` and the same argument names (any subset of them).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from hub.registry import ConnectorRegistry, MatcherRegistry, TransformRegistry

__all__ = ["hookimpl", "hookspec"]

hookspec = pluggy.HookspecMarker("wasl_hub")
hookimpl = pluggy.HookimplMarker("wasl_hub")


@hookspec
def hub_register_connectors(registry: ConnectorRegistry) -> None:
    """Add connector classes with ``registry.add(MyConnector)``.

    Called once when plugins are loaded. The registry validates each class (a name, a valid
    settings schema, a source or a destination) and refuses a second connector of one name.
    """


@hookspec
def hub_register_transforms(registry: TransformRegistry) -> None:
    """Add record transforms with ``registry.add("name", function)``.

    A transform is ``function(record: dict, context: dict) -> dict``: called after the mapping
    and before validation, for the streams whose config lists it under ``transforms``. Raise
    ``hub.RecordError`` to quarantine a record; never return None to drop one.
    """


@hookspec(firstresult=True)
def hub_resolve_secret(name: str) -> str | None:
    """Return the value of the secret ``name`` (written ``${name}`` in the config), or None.

    Stops at the first non-None result. The built-in resolver reads the environment and runs
    last, so a vault plugin can take precedence. A value returned here is redacted from every
    message and log line the hub writes.
    """


@hookspec
def hub_run_started(run: dict[str, Any]) -> None:
    """A run began. ``run`` has ``id``, ``connection``, ``trigger`` and ``started_at``."""


@hookspec
def hub_run_finished(run: dict[str, Any]) -> None:
    """A run ended (succeeded, or partial with quarantined records): ``run`` holds its counts."""


@hookspec
def hub_run_failed(run: dict[str, Any], error: str) -> None:
    """A run stopped on an error; ``error`` is the message shown to the user (secrets redacted)."""


@hookspec
def hub_records_quarantined(run: dict[str, Any], entries: list[dict[str, Any]]) -> None:
    """Records of one batch went to quarantine; each entry has ``id``, ``line`` and ``errors``."""


@hookspec
def hub_register_matchers(registry: MatcherRegistry) -> None:
    """Add reconciliation rules with ``registry.add(rule)``.

    A rule has a ``name`` and ``candidates(txn, index, settings) -> list[Candidate]`` (see
    :mod:`hub.reconcile.engine`); it proposes which open donations a booked credit pays, with a
    score from 0 to 1 and the evidence a reviewer will see. The built-in rules (reference,
    payer account, amount and name) register ``trylast`` so a plugin's rule is asked first.
    """


@hookspec
def hub_configure(config: Any) -> None:
    """Read your own section of the config: called once, after plugins are loaded.

    ``config`` is the hub's :class:`hub.config.Config`; ``config.notify`` holds the
    ``notify:`` section with its ``${...}`` secrets already resolved.
    """


@hookspec
def hub_reconcile_finished(summary: dict[str, Any]) -> None:
    """A reconciliation over the store ended; ``summary`` counts matched, suggested, unmatched, ignored."""
