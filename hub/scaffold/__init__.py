"""``hub new connector NAME``: a ready connector package that installs, registers and passes the kit.

The package is written from the templates beside this module: a ``pyproject.toml`` declaring
the ``wasl_hub`` entry point, a connector with one stream reading a JSON API incrementally, its
settings schema, an example hub.yaml with a mapping, and tests that run the kit's acceptance
suite against a local test server. Nothing in it needs the network.
"""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path
from string import Template

from hub.errors import HubError

__all__ = ["new_connector"]

_NAME = re.compile(r"^[a-z][a-z0-9_]{1,38}$")
_FILES = {
    "pyproject.toml.tmpl": "pyproject.toml",
    "README.md.tmpl": "README.md",
    "connector.py.tmpl": "{module}/connector.py",
    "init.py.tmpl": "{module}/__init__.py",
    "hub.example.yaml.tmpl": "hub.example.yaml",
    "test_connector.py.tmpl": "tests/test_connector.py",
}


def new_connector(name: str, parent: Path, *, force: bool = False) -> Path:
    """Write the package ``wasl-NAME`` under ``parent``; returns its folder."""
    if not _NAME.match(name):
        raise HubError(
            f"{name!r} is not a usable connector name",
            hint="lower case letters, digits and _, starting with a letter (e.g. crm or kobo_v2)",
        )
    target = parent / f"wasl-{name.replace('_', '-')}"
    if target.exists() and any(target.iterdir()) and not force:
        raise HubError(f"{target} exists and is not empty", hint="choose another name or folder, or pass --force")
    module = f"wasl_{name}"
    values = {
        "name": name,
        "module": module,
        "dist": f"wasl-{name.replace('_', '-')}",
        "klass": "".join(p.title() for p in name.split("_")) + "Connector",
        "token_env": f"{name.upper()}_TOKEN",  # environment variables are written in capitals
    }
    templates = resources.files(__package__).joinpath("templates")
    for src, dst in _FILES.items():
        out = target / dst.format(**values)
        out.parent.mkdir(parents=True, exist_ok=True)
        text = Template(templates.joinpath(src).read_text(encoding="utf-8")).substitute(values)
        out.write_text(text, encoding="utf-8")
    return target
