"""The one plugin loader: entry points, then plugin folders, then a contract check.

Loading is lazy and happens once per :class:`Plugins`. Built-ins register through the
``wasl_hub`` entry-point group exactly as third-party plugins do. A third-party plugin that
fails to import is a warning that names it (the hub still starts); a built-in that fails is
an error. ``HUB_TRACE_HOOKS=1`` prints every hook call to stderr.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import sys
import warnings
from collections.abc import Iterable
from importlib.metadata import entry_points
from pathlib import Path

import pluggy

from hub import hookspecs
from hub.errors import PluginError
from hub.registry import ConnectorRegistry, MatcherRegistry, TransformRegistry

__all__ = ["ENTRY_POINT_GROUP", "Plugins", "PluginWarning"]

ENTRY_POINT_GROUP = "wasl_hub"
BUILTIN_DISTRIBUTION = "wasl-hub"
log = logging.getLogger("hub.plugins")


class PluginWarning(UserWarning):
    """A third-party plugin could not be loaded; the hub goes on without it."""


class Plugins:
    """The plugin manager plus the registries the plugins filled."""

    def __init__(
        self,
        folders: Iterable[Path] = (),
        block: Iterable[str] = (),
        allow: Iterable[str] | None = None,
    ) -> None:
        self.folders = [Path(f) for f in folders]
        self.block = set(block)
        self.allow = set(allow) if allow is not None else None
        self.pm = pluggy.PluginManager(ENTRY_POINT_GROUP)
        self.pm.add_hookspecs(hookspecs)
        self.connectors = ConnectorRegistry()
        self.transforms = TransformRegistry()
        self.matchers = MatcherRegistry()
        self.failed: dict[str, str] = {}
        self.shipped: set[str] = set()  # the plugins that come with the hub (its own distribution)
        self._loaded = False

    @property
    def hook(self):
        """The hook relay, for calling event hooks: ``plugins.hook.hub_run_started(run=...)``."""
        self.load()
        return self.pm.hook

    def load(self) -> Plugins:
        """Load every plugin once; later calls do nothing."""
        if self._loaded:
            return self
        self._loaded = True
        if os.environ.get("HUB_TRACE_HOOKS"):
            self.pm.trace.root.setwriter(sys.stderr.write)
            self.pm.enable_tracing()
        self._load_entry_points()
        for folder in self.folders:
            self._load_folder(folder)
        try:
            self.pm.check_pending()
        except pluggy.PluginValidationError as exc:
            raise PluginError(f"a plugin implements a hook that does not exist: {exc}") from None
        self._fill(self.connectors, "hub_register_connectors")
        self._fill(self.transforms, "hub_register_transforms")
        self._fill(self.matchers, "hub_register_matchers")
        return self

    def _wanted(self, name: str) -> bool:
        return name not in self.block and (self.allow is None or name in self.allow)

    def _load_entry_points(self) -> None:
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            if not self._wanted(ep.name) or self.pm.has_plugin(ep.name):
                continue
            builtin = ep.dist is not None and ep.dist.name == BUILTIN_DISTRIBUTION
            try:
                module = ep.load()
                self.pm.register(module, name=ep.name)
                if builtin:
                    self.shipped.add(ep.name)
            except Exception as exc:  # noqa: BLE001 - any import failure is reported by name
                if builtin:
                    raise PluginError(f"built-in plugin {ep.name!r} failed to load: {exc}") from exc
                self._warn(ep.name, f"{type(exc).__name__}: {exc}")

    def _load_folder(self, folder: Path) -> None:
        if not folder.is_dir():
            self._warn(str(folder), "plugin folder does not exist")
            return
        for path in sorted(folder.glob("*.py")):
            name = f"folder:{path.stem}"
            if path.name.startswith("_") or not self._wanted(path.stem):
                continue
            try:
                spec = importlib.util.spec_from_file_location(f"wasl_hub_local_{path.stem}", path)
                module = importlib.util.module_from_spec(spec)
                spec.loader.exec_module(module)
                self.pm.register(module, name=name)
            except Exception as exc:  # noqa: BLE001 - a broken local plugin is a warning
                self._warn(str(path), f"{type(exc).__name__}: {exc}")

    def _warn(self, name: str, why: str) -> None:
        self.failed[name] = why
        warnings.warn(f"plugin {name} was not loaded: {why}", PluginWarning, stacklevel=3)
        log.warning("plugin %s was not loaded: %s", name, why)

    def _fill(self, registry, hook_name: str) -> None:
        # Called plugin by plugin (through pluggy, so tracing sees it) so that the registry can
        # name the plugin behind each entry it is given.
        everyone = [p for _, p in self.pm.list_name_plugin()]
        for impl in reversed(getattr(self.pm.hook, hook_name).get_hookimpls()):  # pluggy's call order
            registry.current_plugin = impl.plugin_name
            only = self.pm.subset_hook_caller(hook_name, remove_plugins=[p for p in everyone if p is not impl.plugin])
            only(registry=registry)
        registry.current_plugin = "?"

    def resolve_secret(self, name: str) -> str | None:
        """The first resolver's value for secret ``name``, or None."""
        return self.hook.hub_resolve_secret(name=name)

    def names(self) -> list[str]:
        """Names of the registered plugins, sorted."""
        self.load()
        return sorted(n for n, _ in self.pm.list_name_plugin())
