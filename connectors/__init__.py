"""Built-in connectors, each a plugin registered through the ``wasl_hub`` entry points."""
