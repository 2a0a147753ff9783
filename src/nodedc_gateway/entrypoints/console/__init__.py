"""The owner console (CONTRACT §13): server-rendered pages for the agent's owner.

One more entrypoint: every action runs the same owner use case as its internal route,
through the same pipeline (validation, idempotency, audit with the acting user)."""
