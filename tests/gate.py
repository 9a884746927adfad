"""A transform that holds a run at its first record until the test lets it go.

With it a test knows a run is surely going on (``started`` exists) while it asks for
another, and ends it when it chooses (``open_gate``). One deadline for the whole run, so a
run the hub wrongly let start is held two minutes at most, never once per record.
"""

from __future__ import annotations

from pathlib import Path

PLUGIN_FOLDER = "gate"


def write_gate(folder) -> None:
    """Put the ``gate`` transform in ``folder/gate`` (config: ``plugins: {folders: [gate]}``)."""
    folder.write(
        f"{PLUGIN_FOLDER}/gate.py",
        "import time\nfrom pathlib import Path\nfrom hub import hookimpl\n\nDEADLINE = []\n\n"
        "def gate(record, context):\n"
        f"    Path({str(started(folder))!r}).touch()\n"
        "    DEADLINE.append(time.monotonic() + 120)\n"
        f"    while not Path({str(folder.path / 'go')!r}).exists() and time.monotonic() < DEADLINE[0]:\n"
        "        time.sleep(0.05)\n"
        "    return record\n\n"
        "@hookimpl\ndef hub_register_transforms(registry):\n    registry.add('gate', gate)\n",
    )


def started(folder) -> Path:
    """The file the gate touches when a run reaches it."""
    return folder.path / "started"


def open_gate(folder) -> None:
    """Let every held run go on."""
    (folder.path / "go").touch()
