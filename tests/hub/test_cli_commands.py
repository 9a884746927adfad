"""Every command a module declares is offered by ``hub``, including those loaded only on demand."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_declared_command_is_listed_and_answers_help():
    modules = ["hub.cli.commands", *(f"hub.cli.{p.stem}" for p in sorted((ROOT / "hub" / "cli").glob("*_cmd.py")))]
    names = {c.name for m in modules for c in importlib.import_module(m).COMMANDS}
    listed = subprocess.run([sys.executable, "-m", "hub", "--help"], capture_output=True, text=True, check=True).stdout
    missing = sorted(n for n in names if f"  {n} " not in listed)
    assert not missing, f"hub --help does not list {missing}"
    for name in sorted(names):
        proc = subprocess.run([sys.executable, "-m", "hub", name, "--help"], capture_output=True, text=True)
        assert proc.returncode == 0 and "Usage: hub " + name in proc.stdout, (name, proc.stderr)
