"""``python -m hub`` runs the same CLI as the ``hub`` command."""

from hub.cli import main

main()
