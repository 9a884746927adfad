"""Service functions: what the CLI, the API and the web pages call. No interface holds logic."""
