"""The code reads one way: ruff's rules (pyproject.toml) hold over the whole tree."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_ruff_finds_nothing():
    r = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "hub", "connectors", "plugins", "tests", "bench"], cwd=ROOT, capture_output=True, text=True
    )
    assert r.returncode == 0, r.stdout + r.stderr
