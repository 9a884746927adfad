"""Built-in plugins that are not connectors: secret resolvers, transforms."""
