"""Real Chromium for the browser tests (the owner console, the OAuth consent page):
Playwright drives Debian's /usr/bin/chromium through `executable_path` (never `playwright
install`). Locally a missing chromium skips with the reason; under CI it fails the run
(`make unit` installs it first when it can)."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = os.environ.get("NODEDC_TEST_CHROMIUM", "/usr/bin/chromium")
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
#: Where the tests write their screenshots (git ignores var/); docs/console/ keeps copies.
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "console-screenshots"


def require_chromium() -> str:
    if Path(CHROMIUM).is_file() and os.access(CHROMIUM, os.X_OK):
        return CHROMIUM
    found = shutil.which("chromium")
    if found:
        return found
    message = f"Debian's chromium is not installed ({CHROMIUM}); apt-get install chromium"
    if os.environ.get("CI"):
        pytest.fail(f"{message} (CI is set: a missing browser fails the run)")
    pytest.skip(message)


@asynccontextmanager
async def chromium() -> AsyncIterator[Any]:
    """A Playwright browser on Debian's Chromium."""
    from playwright.async_api import async_playwright

    executable = require_chromium()
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=executable, args=LAUNCH_ARGS)
        try:
            yield browser
        finally:
            await browser.close()


@asynccontextmanager
async def chromium_page(**context_options: Any) -> AsyncIterator[Any]:
    """A fresh page in a fresh browser context (its own cookies)."""
    async with chromium() as browser:
        context = await browser.new_context(
            viewport={"width": 1280, "height": 860}, **context_options
        )
        yield await context.new_page()


async def serious_violations(page: Any) -> list[str]:
    """axe-core's serious and critical findings on the page, readable."""
    from axe_playwright_python.async_playwright import Axe

    results = await Axe().run(page)
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at "
        + ", ".join(str(n["target"]) for n in v["nodes"][:3])
        for v in results.response["violations"]
        if v.get("impact") in ("serious", "critical")
    ]


async def screenshot(page: Any, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path
