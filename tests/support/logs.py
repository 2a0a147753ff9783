"""Logging configured for one test and put back afterwards."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

import structlog


@contextlib.contextmanager
def logging_restored() -> Iterator[None]:
    """Whatever `configure_logging` the block does is undone when it ends: the root
    logger's handlers and level, and structlog's configuration (which holds the handler
    our own lines are written to)."""
    root = logging.getLogger()
    handlers, level, config = root.handlers[:], root.level, structlog.get_config()
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        structlog.configure(**config)
