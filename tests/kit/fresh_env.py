"""A fresh virtual environment that sees this test environment's packages, for install tests.

Creating an empty venv and installing the hub's dependencies from the registry would take
minutes; instead the new venv's site-packages gets a ``.pth`` that adds this environment's
site-packages as a site directory (so its editable install of the hub works there too).
What is installed *into* the new venv (a scaffolded connector) is installed for real, by pip.
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path


class FreshEnv:
    def __init__(self, root: Path) -> None:
        self.root = root
        venv.EnvBuilder(with_pip=False, symlinks=True).create(root)
        purelib = Path(sysconfig.get_path("purelib", vars={"base": str(root), "platbase": str(root)}))
        purelib.mkdir(parents=True, exist_ok=True)
        parent = sysconfig.get_path("purelib")
        (purelib / "zz_parent_env.pth").write_text(f"import site; site.addsitedir({parent!r})\n")
        self.python = root / "bin" / "python"
        for tool, module in (("hub", "hub"), ("pytest", "pytest"), ("pip", "pip")):
            script = root / "bin" / tool
            script.write_text(f'#!/bin/sh\nexec {self.python} -m {module} "$@"\n')
            script.chmod(0o755)

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
        env["PATH"] = f"{self.root / 'bin'}:{env.get('PATH', '')}"
        env["VIRTUAL_ENV"] = str(self.root)
        return env

    def run(self, *args: str, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
        return subprocess.run(list(args), cwd=cwd, env=self.env, capture_output=True, text=True, timeout=timeout)

    def pip_install_editable(self, package: Path) -> subprocess.CompletedProcess:
        return self.run(
            str(self.python),
            "-m",
            "pip",
            "install",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "-q",
            "-e",
            str(package),
            cwd=package.parent,
        )


assert sys.version_info >= (3, 11)
