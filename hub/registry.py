"""Registries that plugins add to: connectors by name, transforms by name.

A registry validates what it is given when it is given it, refuses a second entry of one
name, and remembers which plugin added what, so an error can name the plugin at fault.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from hub.errors import PluginError, UnknownConnectorError
from hub.schemacheck import schema_problem
from hub.sdk import Connector
from hub.text.nearest import did_you_mean

__all__ = ["ConnectorRegistry", "MatcherRegistry", "TransformRegistry"]

_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")


class ConnectorRegistry:
    """Connector classes by name, each with the plugin that registered it."""

    def __init__(self) -> None:
        self._classes: dict[str, type[Connector]] = {}
        self._owners: dict[str, str] = {}
        self.current_plugin = "?"

    def add(self, cls: type[Connector]) -> None:
        """Register a connector class; raises PluginError if it is malformed or a duplicate."""
        owner = self.current_plugin
        if not (isinstance(cls, type) and issubclass(cls, Connector)):
            raise PluginError(f"plugin {owner!r} registered {cls!r}, which is not a Connector")
        if not _NAME.match(cls.name or ""):
            raise PluginError(
                f"plugin {owner!r}: connector {cls.__name__} has no valid name ({cls.name!r})",
                hint="a name is lower case letters, digits, - or _, starting with a letter",
            )
        if cls.name in self._classes:
            raise PluginError(f"plugin {owner!r} registers connector {cls.name!r}, already registered by {self._owners[cls.name]!r}")
        problem = schema_problem(cls.settings_schema)
        if problem:
            raise PluginError(f"plugin {owner!r}: connector {cls.name!r} has an invalid settings schema: {problem}")
        if not (cls.is_source() or cls.is_destination()):
            raise PluginError(f"plugin {owner!r}: connector {cls.name!r} neither reads nor writes")
        self._classes[cls.name] = cls
        self._owners[cls.name] = owner

    def get(self, name: str) -> type[Connector]:
        """The class registered as ``name``; UnknownConnectorError lists the known ones."""
        try:
            return self._classes[name]
        except KeyError:
            raise UnknownConnectorError(
                f"unknown connector {name!r}{did_you_mean(name, self._classes)}",
                hint=f"known connectors: {', '.join(sorted(self._classes)) or 'none'}; install or list the plugin that provides it",
            ) from None

    def owner(self, name: str) -> str:
        """The plugin that registered ``name``."""
        return self._owners[name]

    def names(self) -> list[str]:
        """Registered connector names, sorted."""
        return sorted(self._classes)


Transform = Callable[[dict, dict], dict]


class TransformRegistry:
    """Named record transforms, referenced from a stream's ``transforms`` list in the config."""

    def __init__(self) -> None:
        self._fns: dict[str, Transform] = {}
        self._owners: dict[str, str] = {}
        self.current_plugin = "?"

    def add(self, name: str, fn: Transform) -> None:
        """Register ``fn`` as ``name``; a second transform of one name is refused."""
        if not _NAME.match(name) or not callable(fn):
            raise PluginError(f"plugin {self.current_plugin!r}: bad transform {name!r}")
        if name in self._fns:
            raise PluginError(f"plugin {self.current_plugin!r} registers transform {name!r}, already registered by {self._owners[name]!r}")
        self._fns[name] = fn
        self._owners[name] = self.current_plugin

    def get(self, name: str) -> Transform:
        """The transform ``name``; KeyError if none."""
        return self._fns[name]

    def names(self) -> list[str]:
        """Registered transform names, sorted."""
        return sorted(self._fns)


class MatcherRegistry:
    """Reconciliation rules, asked in registration order; names are unique."""

    def __init__(self) -> None:
        self._rules: list = []
        self._owners: dict[str, str] = {}
        self.current_plugin = "?"

    def add(self, rule) -> None:
        """Register a rule object with a ``name`` and a ``candidates`` method."""
        name = getattr(rule, "name", None)
        if not isinstance(name, str) or not _NAME.match(name) or not callable(getattr(rule, "candidates", None)):
            raise PluginError(f"plugin {self.current_plugin!r}: {rule!r} is not a matching rule (a name and candidates())")
        if name in self._owners:
            raise PluginError(f"plugin {self.current_plugin!r} registers rule {name!r}, already registered by {self._owners[name]!r}")
        self._rules.append(rule)
        self._owners[name] = self.current_plugin

    def rules(self) -> list:
        """The rules, in the order they were registered."""
        return list(self._rules)

    def names(self) -> list[str]:
        """Rule names, in order."""
        return [r.name for r in self._rules]
