"""The owner console in a real Chromium: the whole flow an owner goes through, each page
checked by axe-core and photographed, and the main flow by keyboard alone."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.browser import chromium_page, require_chromium, screenshot, serious_violations
from tests.support.console import console_link
from tests.support.mcp import CLI, http_client, structured
from tests.support.served import ServedGateway, served_gateway

DEMO = {"workspace_slug": "demo", "project_id": "DEMO"}


@pytest.fixture
async def gw() -> AsyncIterator[ServedGateway]:
    require_chromium()
    async with served_gateway() as served:
        yield served


async def accessible(page: Any, name: str) -> None:
    """No serious or critical axe-core finding; a screenshot for the docs."""
    await screenshot(page, name)
    assert await serious_violations(page) == [], name


async def connect(gw: ServedGateway, code: str, config_dir: Path) -> str:
    """`nodedc-gateway connect` on the code, as on the agent's laptop; the stored token.
    Asynchronous, since this event loop also serves the gateway."""
    process = await asyncio.create_subprocess_exec(
        CLI,
        "connect",
        "--gateway",
        gw.url,
        "--code",
        code,
        "--name",
        "browser-test",
        env={**os.environ, "NODEDC_CONFIG_DIR": str(config_dir)},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    assert b"Connected agent" in out
    stored = json.loads((config_dir / "credentials.json").read_text())
    return str(stored["token"])


async def test_an_owner_connects_grants_approves_and_audits(
    gw: ServedGateway, tmp_path: Path
) -> None:
    async with chromium_page() as page:
        await page.goto(gw.url + await console_link(gw))
        assert page.url.endswith("/console/agents")  # the code left the address bar
        await accessible(page, "01-agents-empty")

        await page.get_by_label("Name").fill("Laptop Codex")
        await page.get_by_label("Your e-mail").fill("alice@demo.local")
        await page.get_by_role("button", name="Create agent").click()
        await page.wait_for_url("**/console/agents/*")
        agent_id = page.url.split("/")[-1].split("?")[0]
        await accessible(page, "02-agent")

        await page.get_by_role("button", name="Create a pairing code").click()
        await page.wait_for_load_state()
        code = (await page.locator(".paircode").inner_text()).strip()
        countdown = await page.locator("[data-seconds-left]").inner_text()
        assert countdown.startswith(("9 min", "10 min")), countdown  # the server's clock
        await accessible(page, "03-pairing-code")
        token = await connect(gw, code, tmp_path / "laptop")

        await page.goto(f"{gw.url}/console/agents/{agent_id}")
        await page.get_by_role("link", name="Add a grant").click()
        await page.get_by_label("Workspace").fill("demo")
        await page.get_by_role("button", name="Show its projects").click()
        await page.wait_for_load_state()
        await page.get_by_label("Project in demo").select_option(label="DEMO — Demo project")
        await page.get_by_label("project:read", exact=False).check()
        await page.get_by_label("issue:read", exact=False).check()
        await accessible(page, "04-grant-new")
        await page.get_by_role("button", name="Create grant").click()
        await page.wait_for_url("**/grants/*")
        assert "DEMO — Demo project" in await page.locator("h1").inner_text()
        await page.get_by_label("issue:comment", exact=False).check()
        await page.get_by_label("project:read", exact=False).uncheck()
        await page.get_by_role("button", name="Save as version 2").click()
        await page.wait_for_url("**/grants/*?notice=grant_updated")
        history = await page.locator("table.versions").inner_text()
        assert "+ issue:comment" in history
        assert "− project:read" in history
        await accessible(page, "05-grant")

        async with http_client(gw.url, token) as agent:
            refused = await agent.call_tool("create_issue", {**DEMO, "name": "Not yet"})
            assert refused.is_error
            assert structured(refused)["error"]["code"] == "scope_missing"
            asked = await agent.call_tool(
                "request_access",
                {**DEMO, "scopes": ["issue:create"], "justification": "To file the bugs I find"},
            )
            assert not asked.is_error, structured(asked)

            await page.goto(f"{gw.url}/console/requests")
            await accessible(page, "06-requests-pending")
            await page.get_by_role("button", name="Approve ticked scopes").click()
            await page.wait_for_url("**/console/requests?notice=request_approved")
            await accessible(page, "07-requests-decided")

            created = await agent.call_tool("create_issue", {**DEMO, "name": "Found a bug"})
            assert not created.is_error, structured(created)

        await page.goto(f"{gw.url}/console/audit?agent={agent_id}&operation=create_issue")
        rows = page.locator("tbody tr")
        assert await rows.count() == 2
        assert "allowed" in await rows.nth(0).inner_text()
        assert "refused" in await rows.nth(1).inner_text()
        assert await page.locator(".chain.ok").count() == 1
        await accessible(page, "08-audit")

        await page.goto(f"{gw.url}/console/agents/{agent_id}")
        await page.get_by_label("Token name").fill("ci runner")
        await page.get_by_role("button", name="Issue token").click()
        await page.wait_for_load_state()
        assert (await page.locator("#token").input_value()).startswith("ndca_")
        await accessible(page, "09-token-issued")

        await page.goto(f"{gw.url}/console/reporting")
        await accessible(page, "10-reporting")
        await page.goto(f"{gw.url}/console/agents/{agent_id}/revoke")
        await accessible(page, "11-revoke-confirm")
        await page.goto(f"{gw.url}/console/agents")
        await accessible(page, "12-agents")
        missing = await page.goto(f"{gw.url}/console/agents/01900000-0000-7000-8000-000000000000")
        assert missing is not None
        assert missing.status == 404
        await accessible(page, "13-not-found")


async def tab_to(page: Any, selector: str, presses: int = 80) -> None:
    """Tab until the element has the focus, as a keyboard user would."""
    target = page.locator(selector)
    for _ in range(presses):
        await page.keyboard.press("Tab")
        if await target.evaluate("element => element === document.activeElement"):
            return
    raise AssertionError(f"{selector} cannot be reached with Tab")


async def test_the_main_flow_works_with_the_keyboard_alone(gw: ServedGateway) -> None:
    async with chromium_page() as page:
        await page.goto(gw.url + await console_link(gw))
        await tab_to(page, "#display_name")
        await page.keyboard.type("Keyboard agent")
        await page.keyboard.press("Tab")
        await page.keyboard.type("alice@demo.local")
        await page.keyboard.press("Enter")
        await page.wait_for_url("**/console/agents/*")
        agent_id = page.url.split("/")[-1].split("?")[0]

        await tab_to(page, "text=Create a pairing code")
        await page.keyboard.press("Enter")
        await page.wait_for_load_state()
        assert len((await page.locator(".paircode").inner_text()).strip()) == 9

        await page.goto(f"{gw.url}/console/agents/{agent_id}")
        await tab_to(page, "text=Add a grant")
        await page.keyboard.press("Enter")
        await page.wait_for_url("**/grants/new")
        await tab_to(page, "#workspace")
        await page.keyboard.type("demo")
        await page.keyboard.press("Enter")
        await page.wait_for_url("**/grants/new?workspace=demo")
        await tab_to(page, "#scope-issue-read")
        await page.keyboard.press("Space")
        await tab_to(page, "text=Create grant")
        await page.keyboard.press("Enter")
        await page.wait_for_url("**/grants/*?notice=grant_created")
        assert "issue:read" in await page.locator("table.versions").inner_text()

        await tab_to(page, "text=Sign out")
        await page.keyboard.press("Enter")
        await page.wait_for_url("**/console/signed-out")
        await accessible(page, "14-signed-out")
