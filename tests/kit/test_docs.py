"""docs/connectors.md: every code block runs, in order, as a reader would run it."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import yaml

from hub import hookspecs
from hub.config import parse_config
from tests.kit.fresh_env import FreshEnv

DOC = Path(__file__).resolve().parents[2] / "docs" / "connectors.md"
FENCE = re.compile(r"^```(\w+)\n(.*?)^```", re.S | re.M)


def blocks():
    return FENCE.findall(DOC.read_text(encoding="utf-8"))


def test_every_block_of_the_tutorial_runs(tmp_path):
    env = FreshEnv(tmp_path / "venv")
    work = tmp_path / "work"
    work.mkdir()
    kinds = [k for k, _ in blocks()]
    assert set(kinds) <= {"sh", "python", "yaml"}, "a block of a kind this test cannot run"
    for n, (kind, code) in enumerate(blocks(), start=1):
        if kind == "sh":
            r = env.run(
                "bash",
                "-euo",
                "pipefail",
                "-c",
                code.replace("pip install -e", "pip install --no-deps --no-build-isolation --no-index -q -e"),
                cwd=work,
                timeout=600,
            )
            assert r.returncode == 0, f"block {n} (sh) failed:\n{code}\n{r.stdout}\n{r.stderr}"
        elif kind == "python":
            namespace: dict = {"__name__": f"doc_block_{n}"}
            exec(compile(code, f"{DOC.name} block {n}", "exec"), namespace)  # noqa: S102 - the docs' own examples
        else:
            data = yaml.safe_load(code)
            if "connections" in data:
                parse_config(data, path=None, base_dir=work)


def test_every_hook_is_in_the_reference():
    text = DOC.read_text(encoding="utf-8")
    for name in dir(hookspecs):
        if name.startswith("hub_"):
            assert name in text, f"{name} is not documented in docs/connectors.md"


def test_the_kit_plugin_is_registered_for_pytest():
    r = subprocess.run(
        [sys.executable, "-c", "from importlib.metadata import entry_points; print([e.value for e in entry_points(group='pytest11')])"],
        capture_output=True,
        text=True,
    )
    assert "hub.testing.plugin" in r.stdout
