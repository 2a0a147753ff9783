"""Debian's Chromium driven by Playwright for Python (never `playwright install`).

Skipped locally with a clear reason when Chromium or Playwright is missing; a failure
under CI, where a missing real part must not pass silently."""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _missing(message: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{message} (CI is set: a missing browser fails the run)")
    pytest.skip(message)


def _installed() -> bool:
    return os.path.exists(CHROMIUM)


@contextlib.asynccontextmanager
async def chromium() -> AsyncIterator[Any]:
    """A Playwright browser on Debian's Chromium."""
    if not _installed():
        _missing(f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)")
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        _missing("Playwright for Python is not installed (pip install -e '.[dev]')")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield browser
        finally:
            await browser.close()
