"""The hub as services see it: config, plugins and store, opened lazily and once.

The CLI (and later the API and web pages) build a :class:`Hub` and call the service
functions with it; none of them holds business logic of its own.
"""

from __future__ import annotations

import dataclasses
from functools import cached_property
from pathlib import Path

from hub.config import Config, ConnectionConfig, load_config
from hub.errors import ConfigError
from hub.plugins import Plugins
from hub.schemacheck import problems_of
from hub.sdk import Connector, ConnectorContext
from hub.secrets import redactor, substitute
from hub.store import Store

__all__ = ["Hub"]


class Hub:
    """One configured hub: ``config``, ``plugins`` and ``store``."""

    def __init__(self, config: Config) -> None:
        self.config = config

    @classmethod
    def from_path(cls, path: Path | str) -> Hub:
        """Load the config at ``path``."""
        return cls(load_config(path))

    @cached_property
    def plugins(self) -> Plugins:
        """Loaded plugins: entry points, then the config's plugin folders."""
        plugins = Plugins(self.config.plugin_folders, self.config.plugin_block, self.config.plugin_allow).load()
        notify = substitute(self.config.notify, plugins.resolve_secret, "notify")
        plugins.hook.hub_configure(config=dataclasses.replace(self.config, notify=notify))
        return plugins

    @cached_property
    def store(self) -> Store:
        """The migrated store."""
        return Store.open(self.config.store_url)

    def connector_class(self, connection: str) -> type[Connector]:
        """The connector class a connection uses."""
        cfg = self.config.connection(connection)
        try:
            return self.plugins.connectors.get(cfg.connector)
        except ConfigError as exc:
            raise type(exc)(f"connections.{connection}.connector: {exc.message}", hint=exc.hint) from None

    def settings(self, connection: str) -> dict:
        """A connection's settings, checked against its connector's schema, secrets resolved."""
        cfg = self.config.connection(connection)
        cls = self.connector_class(connection)
        settings = substitute(cfg.settings, self.plugins.resolve_secret, f"connections.{connection}.settings")
        # Checked once ${...} are resolved (a URL may come from the environment); the messages
        # quote values, so resolved secrets are masked in them.
        problems = [redactor.redact(p) for p in problems_of(cls.settings_schema, settings, prefix=f"connections.{connection}.settings")]
        if problems:
            raise ConfigError(f"{self.config.path}: connection {connection!r} has invalid settings", problems=problems)
        return settings

    def open_connector(self, connection: str) -> Connector:
        """A ready connector instance for ``connection``."""
        cfg = self.config.connection(connection)
        cls = self.connector_class(connection)
        settings = self.settings(connection)
        if cfg.streams and not cls.is_source():
            raise ConfigError(f"connections.{connection}.streams: connector {cls.name!r} is not a source")
        plugin = self.plugins.connectors.owner(cls.name)
        delivering = [c for c in self.config.connections.values() if connection in c.destinations]
        ctx = ConnectorContext(
            connection=connection,
            base_dir=self.config.base_dir,
            streams=cfg.streams,
            timezone=self.config.timezone,
            plugin=plugin,
            shipped=plugin in self.plugins.shipped,
            delivered_from=tuple(c.name for c in delivering),
            delivered_associations=_associations_of(delivering),
        )
        return cls(settings, ctx)

    def close(self) -> None:
        """Release the store's connections."""
        if "store" in self.__dict__:
            self.store.close()


def _associations_of(connections: list[ConnectionConfig]) -> tuple[str, ...]:
    """The associations whose records ``connections`` bring, where the config names them: ``association:``, or a constant ``association_id``."""
    found: set[str] = set()
    for c in connections:
        if c.association:
            found.add(c.association)
        for stream in c.streams:
            given = (stream.mapping or {}).get("association_id")
            if isinstance(given, dict) and isinstance(given.get("const"), str):
                found.add(given["const"])
    return tuple(sorted(found))
