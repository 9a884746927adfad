"""Loading ``hub.yaml``: parse, check against the config schema, report every problem with its key.

Connection settings are checked later against each connector's own schema (the connector is
known only once plugins are loaded); ``${NAME}`` secrets are resolved then too.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from hub.errors import ConfigError
from hub.schemacheck import problems_of
from hub.sdk import StreamConfig

__all__ = ["Config", "ConnectionConfig", "DEFAULT_CONFIG", "config_schema", "load_config"]

DEFAULT_CONFIG = "hub.yaml"


@cache
def config_schema() -> dict:
    """The JSON Schema hub.yaml is checked against (its names' patterns serve the API too)."""
    return json.loads(resources.files("hub").joinpath("config_schema.json").read_text(encoding="utf-8"))


@dataclass(frozen=True)
class ConnectionConfig:
    """One connection as configured (settings still holding ``${...}`` references)."""

    name: str
    connector: str
    settings: dict
    streams: tuple[StreamConfig, ...] = ()
    destinations: tuple[str, ...] = ()
    entities: tuple[str, ...] | None = None
    schedule: dict | None = None
    description: str = ""
    association: str | None = None
    transforms: tuple[str, ...] = ()  # as a destination: what every record sent here goes through first


@dataclass(frozen=True)
class Config:
    """The whole configuration, with paths made absolute against the file's folder."""

    path: Path | None
    base_dir: Path
    store_url: str
    timezone: str = "Asia/Damascus"
    batch_size: int = 5000
    parallel: bool = True
    lease_seconds: float = 60.0
    plugin_folders: tuple[Path, ...] = ()
    plugin_block: tuple[str, ...] = ()
    plugin_allow: tuple[str, ...] | None = None
    connections: dict[str, ConnectionConfig] = field(default_factory=dict)
    reconcile: dict = field(default_factory=dict)
    notify: dict = field(default_factory=dict)
    celery: dict = field(default_factory=dict)
    api: dict = field(default_factory=dict)
    iati: dict = field(default_factory=dict)
    jobs: dict = field(default_factory=dict)

    def connection(self, name: str) -> ConnectionConfig:
        """The connection ``name``; ConfigError lists the configured ones."""
        if name not in self.connections:
            known = ", ".join(sorted(self.connections)) or "none"
            raise ConfigError(f"no connection named {name!r} in {self.path}", hint=f"configured connections: {known}")
        return self.connections[name]


def _store_url(raw: str | None, base: Path) -> str:
    if not raw:
        return f"sqlite:///{(base / '.hub' / 'hub.db').as_posix()}"
    if raw.startswith("sqlite:///") and not raw.startswith("sqlite:////") and raw != "sqlite:///:memory:":
        return f"sqlite:///{(base / raw[len('sqlite:///') :]).as_posix()}"
    return raw


def _cron_shorthand(data: Any) -> Any:
    """``schedule: "0 2 * * *"`` read as ``schedule: {cron: "0 2 * * *"}``: how an admin who knows cron writes it first."""
    if not isinstance(data, dict):
        return data
    out = dict(data)
    for section in ("connections", "jobs"):
        entries = data.get(section)
        if isinstance(entries, dict) and any(isinstance(e, dict) and isinstance(e.get("schedule"), str) for e in entries.values()):
            out[section] = {
                name: {**e, "schedule": {"cron": e["schedule"]}} if isinstance(e, dict) and isinstance(e.get("schedule"), str) else e
                for name, e in entries.items()
            }
    return out


def parse_config(data: Any, *, path: Path | None, base_dir: Path) -> Config:
    """Build a Config from already-parsed YAML; ConfigError lists every problem."""
    if data is None:
        data = {}
    where = str(path) if path else "config"
    data = _cron_shorthand(data)
    problems = problems_of(config_schema(), data)
    if problems:
        raise ConfigError(f"{where}: the configuration is not valid", problems=problems)
    tz = data.get("timezone", "Asia/Damascus")
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"{where}: timezone: unknown time zone {tz!r}", hint="use an IANA name such as Asia/Damascus") from None
    connections = {}
    for name, c in (data.get("connections") or {}).items():
        streams = tuple(
            StreamConfig(
                name=sname,
                entity=s["entity"],
                key=tuple(s.get("key", ())),
                mapping=s.get("mapping"),
                transforms=tuple(s.get("transforms", ())),
                options=s.get("options", {}),
                keep_unmapped=s.get("keep_unmapped", True),
                skip=tuple(s.get("skip", ())),
                report_deleted=s.get("report_deleted", False),
            )
            for sname, s in (c.get("streams") or {}).items()
        )
        connections[name] = ConnectionConfig(
            name=name,
            connector=c["connector"],
            settings=c.get("settings") or {},
            streams=streams,
            destinations=tuple(c.get("destinations", ())),
            entities=tuple(c["entities"]) if "entities" in c else None,
            schedule=c.get("schedule"),
            description=c.get("description", ""),
            association=c.get("association"),
            transforms=tuple(c.get("transforms", ())),
        )
    for name, c in connections.items():
        for d in c.destinations:
            if d not in connections:
                problems.append(f"connections.{name}.destinations: no connection named {d!r}")
            elif d == name:
                problems.append(f"connections.{name}.destinations: a connection cannot deliver to itself")
    problems += _notify_problems(data.get("notify") or {})
    jobs = data.get("jobs") or {}
    schedules = [(name, c.schedule, None) for name, c in connections.items() if c.schedule]
    schedules += [(f"job:{job}", spec["schedule"], f"jobs.{job}.schedule") for job, spec in jobs.items()]
    if schedules:
        from hub.scheduling.triggers import parse_schedule  # loads APScheduler: only when something is scheduled

        for name, spec, at in schedules:
            try:
                parse_schedule(name, spec, tz, where=at)
            except ConfigError as exc:
                problems.append(f"{exc.message}; {exc.hint}" if exc.hint else exc.message)
    if problems:
        raise ConfigError(f"{where}: the configuration is not valid", problems=problems)
    plugins = data.get("plugins") or {}
    return Config(
        path=path,
        base_dir=base_dir,
        store_url=_store_url(data.get("store"), base_dir),
        timezone=tz,
        batch_size=data.get("batch_size", 5000),
        parallel=data.get("parallel", True),
        lease_seconds=float(data.get("lease_seconds", (data.get("celery") or {}).get("lease_seconds", 60))),
        plugin_folders=tuple(base_dir / f for f in plugins.get("folders", ())),
        plugin_block=tuple(plugins.get("block", ())),
        plugin_allow=tuple(plugins["allow"]) if "allow" in plugins else None,
        connections=connections,
        reconcile=data.get("reconcile") or {},
        notify=data.get("notify") or {},
        celery=data.get("celery") or {},
        api=data.get("api") or {},
        iati=data.get("iati") or {},
        jobs=jobs,
    )


_LOOPBACK = ("localhost", "127.0.0.1", "::1")


def _notify_problems(notify: dict) -> list[str]:
    """What the schema cannot say about ``notify``: a password never crosses a network in clear."""
    email = notify.get("email") or {}
    problems = []
    if email.get("ssl") and email.get("starttls"):
        problems.append("notify.email: give ssl (SMTPS, port 465) or starttls (port 587), not both")
    if email.get("username") and not (email.get("ssl") or email.get("starttls")) and email.get("host") not in _LOOPBACK:
        problems.append(
            f"notify.email: a username without starttls or ssl would send the password to {email.get('host')} in clear;"
            " set starttls: true (port 587) or ssl: true (port 465)"
        )
    return problems


_REDEFINED = {"tag:yaml.org,2002:bool", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float"}


class _Loader(yaml.SafeLoader):
    """YAML as the safe loader reads it, but a date that does not exist is an error with its line.

    ``start: 2026-02-30`` looks like a date to YAML, whose constructor then fails with a bare
    ValueError that names no line. ``.nan`` and ``.inf`` are refused the same way: no setting
    means them, and a schema's ``minimum`` lets NaN through (every comparison with it is false).

    Booleans and numbers are read as YAML 1.2 reads them, not as YAML 1.1 (PyYAML's default):
    - only ``true`` and ``false`` are booleans. YAML 1.1 also reads ``yes``, ``no``, ``on``
      and ``off``, so ``id: No`` (a receipt-number column) was refused as "not a column name",
      ``column: On`` read a column ``True`` that no row has (every row quarantined), and
      ``map: {no: ...}`` had a key no cell matched. A boolean setting written ``yes`` is
      refused by the schema instead;
    - a number with a leading zero is text: YAML 1.1 reads ``0123`` as octal (83), so
      ``map: {01: bank_transfer}`` matched no cell "01", and ``const: 0944123456`` lost digits;
    - ``10:30`` is text, not YAML 1.1's sexagesimal 630.

    A key written twice in one mapping is refused with both lines, as YAML 1.2 requires keys
    to be unique: PyYAML keeps the last silently, so a connection block copied and not
    renamed replaced the first connection in every run and schedule. A key beside the same
    key merged in (``<<: *defaults``) is an override, as merging means.
    """

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            first: dict[tuple[str, str], yaml.Node] = {}
            for key_node, _value in node.value:
                if isinstance(key_node, yaml.ScalarNode) and key_node.tag != "tag:yaml.org,2002:merge":
                    seen = first.setdefault((key_node.tag, key_node.value), key_node)
                    if seen is not key_node:
                        raise yaml.constructor.ConstructorError(
                            None,
                            None,
                            f"key {key_node.value!r} is written twice in this mapping (first on line {seen.start_mark.line + 1});"
                            " YAML would keep the second without a word: rename one, or merge the two",
                            key_node.start_mark,
                        )
        return super().construct_mapping(node, deep=deep)

    yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag not in _REDEFINED]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }


_Loader.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))
_Loader.add_implicit_resolver("tag:yaml.org,2002:int", re.compile(r"^[-+]?(?:0|[1-9][0-9_]*)$"), list("-+0123456789"))
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^(?:[-+]?(?:0|[1-9][0-9_]*)?\.[0-9_]*(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"),
    list("-+0123456789."),
)


def _timestamp(loader: _Loader, node: yaml.ScalarNode):
    try:
        return yaml.SafeLoader.construct_yaml_timestamp(loader, node)
    except ValueError as exc:
        raise yaml.constructor.ConstructorError(
            None, None, f"{node.value!r} is written as a date but is not one ({exc}); quote it if it is text", node.start_mark
        ) from None


def _float(loader: _Loader, node: yaml.ScalarNode):
    value = yaml.SafeLoader.construct_yaml_float(loader, node)
    if not math.isfinite(value):
        raise yaml.constructor.ConstructorError(
            None, None, f"{node.value!r} is not a number a setting can take; write digits", node.start_mark
        )
    return value


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp)
_Loader.add_constructor("tag:yaml.org,2002:float", _float)


def load_config(path: Path | str) -> Config:
    """Read and check a config file; ConfigError (exit 2) names the line or key of each problem."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"no config file at {path}", hint="run `hub init` to create one, or pass --config FILE")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: the config file is not UTF-8 text") from None
    try:
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader is the safe loader, dates checked
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{path}{at}: not valid YAML: {problem}") from None
    config = parse_config(data, path=path.resolve(), base_dir=path.resolve().parent)
    override = os.environ.get("HUB_STORE")
    if override:
        # Deployments point every hub process at one database without editing the file.
        config = dataclasses.replace(config, store_url=_store_url(override, config.base_dir))
    return config
