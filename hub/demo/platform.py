"""The demo's national platform: a second hub, started as its own process on a local port.

It has its own folder and store (``platform/platform.db`` beside the demo's), and the demo's
hub pushes to it through the ``wasl`` connector with one token per association, exactly as
association hubs push to the real platform. The tokens are kept (0600) in the platform's
folder, so a second demo uses the same ones and changes nothing there.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from hub.app import Hub
from hub.config import load_config
from hub.errors import HubError
from hub.localport import announced_url
from hub.services import tokens

__all__ = ["DemoPlatform", "TOKENS"]

# env variable the demo config reads -> (token name, association or None for the platform)
TOKENS = {
    "DEMO_TOKEN_AMAL": ("demo-amal", "assoc-amal"),
    "DEMO_TOKEN_BIRR": ("demo-birr", "assoc-birr"),
    "DEMO_TOKEN_REGISTER": ("demo-register", None),
}
CONFIG = (
    "# The demo's platform: a hub whose API receives what the associations push,\n"
    "# and publishes its directory of associations for donors (no token).\n"
    "store: sqlite:///platform.db\napi: {public_directory: true}\n"
)


class DemoPlatform:
    """``with DemoPlatform(folder) as p:`` the platform runs; ``p.url``; the env holds the tokens."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.url = ""  # known once the platform has bound its port
        self.proc: subprocess.Popen | None = None

    def _hub(self) -> Hub:
        # The platform's own store, whatever HUB_STORE says about the demo hub's.
        config = load_config(self.folder / "hub.yaml")
        return Hub(dataclasses.replace(config, store_url=f"sqlite:///{(self.folder / 'platform.db').as_posix()}"))

    def _tokens(self) -> dict[str, str]:
        path = self.folder / "demo-tokens.json"
        saved = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
        hub = self._hub()
        try:
            out = {}
            for env, (name, association) in TOKENS.items():
                secret = saved.get(env)
                if not secret or tokens.authenticate(hub, secret) is None:
                    # A store kept while the saved secrets were lost: a fresh token, under a free name.
                    taken = {t["name"] for t in tokens.list_tokens(hub)}
                    free = next(n for n in (name, *(f"{name}-{k}" for k in range(2, 1000))) if n not in taken)
                    secret = tokens.create(
                        hub, free, association=association, platform=association is None, read=True, write=True, actor="demo"
                    )["token"]
                out[env] = secret
        finally:
            hub.close()
        if out != saved:
            path.write_text(json.dumps(out, indent=1), encoding="utf-8")
            path.chmod(0o600)
        return out

    def __enter__(self) -> DemoPlatform:
        self.folder.mkdir(parents=True, exist_ok=True)
        config = self.folder / "hub.yaml"
        if not config.exists() or config.read_text(encoding="utf-8") != CONFIG:
            config.write_text(CONFIG, encoding="utf-8")
        os.environ.update(self._tokens())
        env = {k: v for k, v in os.environ.items() if k not in ("HUB_STORE", "HUB_CONFIG")}
        log_path = self.folder / "serve.log"
        log = log_path.open("w", encoding="utf-8")
        # Port 0: the system picks a free port as the platform binds it, so no other program can
        # take it in between; the platform's log names it.
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "hub", "-c", str(config), "serve", "--port", "0"], stdout=log, stderr=log, env=env
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise HubError(f"the demo platform did not start; see {log_path}")
            if not self.url:
                self.url = announced_url(log_path.read_text(encoding="utf-8")) or ""
                if self.url:
                    os.environ["DEMO_PLATFORM_URL"] = self.url
            try:
                if self.url and httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        self.__exit__()
        raise HubError(f"the demo platform did not answer within a minute; see {self.folder / 'serve.log'}")

    def count(self, entity: str) -> int:
        """How many ``entity`` records the platform holds, read through its API."""
        headers = {"Authorization": f"Bearer {os.environ['DEMO_TOKEN_REGISTER']}"}
        total, after = 0, 0
        while True:
            page = httpx.get(f"{self.url}/api/v1/{entity}", params={"limit": 1000, "after": after}, headers=headers, timeout=30).json()
            total += len(page["items"])
            if not page["next"]:
                return total
            after = page["next"]

    def directory(self) -> list[dict]:
        """The associations the platform's public directory lists, read as a donor reads them: without a token."""
        return httpx.get(f"{self.url}/api/v1/public/associations", params={"limit": 500}, timeout=30).json()["items"]

    def programs(self) -> list[dict]:
        """The programs the public directory offers a donor (pipeline or under way), read without a token."""
        return httpx.get(f"{self.url}/api/v1/public/programs", params={"limit": 500}, timeout=30).json()["items"]

    def __exit__(self, *exc) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
