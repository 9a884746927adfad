"""A hub with two associations' data served by ``hub serve``, and Chromium driven by Playwright.

The browser is the machine's own Chromium (Debian's package, which ``.ci/run`` installs);
Playwright only drives it, nothing is downloaded. Screenshots of every page the tests visit
go to ``test-artifacts/screenshots`` (or ``$WASL_SCREENSHOTS``) for people to look at.
"""

from __future__ import annotations

import os
import shutil
import signal
from importlib import resources
from pathlib import Path

import httpx
import pytest
import yaml

from hub.demo import DEMO_FILES
from tests.conftest import HubFolder, served_port, wait_for

ROOT = Path(__file__).resolve().parents[2]
SHOTS = Path(os.environ.get("WASL_SCREENSHOTS", ROOT / "test-artifacts" / "screenshots"))
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or "/usr/bin/chromium"


def _config() -> str:
    """The demo's connections, without the platform (no second hub here), plus a CRM destination."""
    demo = yaml.safe_load(resources.files("hub.demo").joinpath("data", "hub.yaml").read_text(encoding="utf-8"))
    connections = {n: c for n, c in demo["connections"].items() if not n.startswith("platform")}
    for c in connections.values():
        c.pop("destinations", None)
    connections["amal-donations"]["schedule"] = {"cron": "0 2 * * *"}
    # A destination with literal secrets, for the masking test.
    connections["crm"] = {
        "description": "A CRM that receives the donations",
        "connector": "rest",
        "settings": {
            "url": "https://crm-user:crm-password@crm.example.org/api",
            "auth": {"type": "header", "name": "X-Api-Key", "value": "literal-api-key-123"},
            "write": {"path": "/donations"},
        },
        "transforms": ["drop_donor_contact"],
    }
    return yaml.safe_dump({"store": "sqlite:///hub.db", "connections": connections}, allow_unicode=True, sort_keys=False)


PASSWORDS = {"admin@wasl.example": "platform-pass-1", "amal@wasl.example": "amal-pass-123"}


class Site:
    """The hub's folder, its ``hub serve`` and its URL."""

    def __init__(self, folder: HubFolder) -> None:
        self.folder = folder
        self.url = ""
        self.proc = None

    def start(self) -> Site:
        self.proc = self.folder.popen("serve", "--port", "0")  # the kernel picks the port as it binds
        self.url = f"http://127.0.0.1:{served_port(self.proc)}"
        assert wait_for(lambda: _answers(f"{self.url}/healthz"), timeout=60), self.proc.stderr.read()
        return self

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=60)


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.TransportError:
        return False


@pytest.fixture
def site(folder):
    data = resources.files("hub.demo").joinpath("data")
    for name in (n for n in DEMO_FILES if n != "hub.yaml"):
        (folder.path / name).write_bytes(data.joinpath(name).read_bytes())
    folder.write("hub.yaml", _config())
    assert folder.hub("run", "--all").code == 1  # five rows are broken on purpose
    assert folder.hub("reconcile").code == 1  # one suggestion waits for a person
    for email, scope in (("admin@wasl.example", ["--platform"]), ("amal@wasl.example", ["--association", "assoc-amal"])):
        r = folder.hub("users", "create", email, "--name", email.split("@")[0], *scope, "--password-stdin", input=PASSWORDS[email] + "\n")
        assert r.code == 0, r.err
    s = Site(folder).start()
    yield s
    s.stop()


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), "Chromium is not installed: .ci/run installs Debian's chromium package"
    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield b
        b.close()


class Browse:
    """A browser page on the site, signed in or not, that can screenshot what it shows."""

    def __init__(self, browser, site: Site, name: str) -> None:
        self.context = browser.new_context(base_url=site.url, locale="en-US")
        self.page = self.context.new_page()
        self.site = site
        self.name = name

    def sign_in(self, email: str) -> Browse:
        self.page.goto("/login")
        self.page.get_by_label("E-mail").fill(email)
        self.page.get_by_label("Password").fill(PASSWORDS[email])
        self.page.get_by_role("button", name="Sign in").click()
        self.page.wait_for_url(f"{self.site.url}/")
        return self

    def shot(self, what: str) -> None:
        SHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SHOTS / f"{self.name}-{what}.png"), full_page=True)

    def unlabelled_inputs(self) -> list[str]:
        return self.page.evaluate(
            """() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
                 .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label'))
                 .map(el => el.name || el.id)"""
        )


@pytest.fixture
def browse(browser, site, request):
    opened = []

    def open_page(label: str = "") -> Browse:
        b = Browse(browser, site, f"{request.node.name}{'-' + label if label else ''}")
        opened.append(b)
        return b

    yield open_page
    for b in opened:
        b.context.close()
