"""Rotating the pepper and the internal token without downtime (docs/operations.md): the
procedure the guide gives, run against one database by successive gateways."""

from __future__ import annotations

from pathlib import Path

import httpx

from nodedc_gateway.adapters.persistence.sql.migrate import upgrade
from nodedc_gateway.entrypoints.settings import Settings, load_settings
from tests.support.mcp import http_client
from tests.support.served import INTERNAL_TOKEN, PEPPER, served_gateway

NEW_PEPPER = "a-new-pepper-for-the-rotation-0123456789abcdef"
NEW_INTERNAL_TOKEN = "a-new-internal-token-for-the-rotation-0123456789"


def settings(database: str = "memory://", **values: str) -> Settings:
    return load_settings(
        {},
        **{
            "database_url": database,
            "internal_token": INTERNAL_TOKEN,
            "token_pepper": PEPPER,
            **values,
        },
    )


async def whoami_works(url: str, token: str) -> bool:
    async with http_client(url, token) as client:
        return not (await client.call_tool("whoami", {})).is_error


async def test_tokens_outlive_a_pepper_rotation_until_the_old_pepper_is_dropped(
    tmp_path: Path,
) -> None:
    database = f"sqlite+aiosqlite:///{tmp_path / 'gateway.db'}"
    await upgrade(database)
    async with served_gateway(settings(database)) as before:
        agent = await before.create_agent()
        await before.grant(agent["id"])
        old_token = await before.token(agent["id"])

    rotating = settings(database, token_pepper=NEW_PEPPER, token_pepper_previous=PEPPER)
    async with served_gateway(rotating) as during:
        assert await whoami_works(during.url, old_token)  # issued under the old pepper
        new_token = await during.token(agent["id"])  # hashed with the new one
        assert await whoami_works(during.url, new_token)

    async with served_gateway(settings(database, token_pepper=NEW_PEPPER)) as after:
        assert await whoami_works(after.url, new_token)
        async with httpx.AsyncClient(base_url=after.url) as client:
            refused = await client.post(
                "/mcp", json={}, headers={"Authorization": f"Bearer {old_token}"}
            )
        assert refused.status_code == 401  # the old pepper is gone, and its tokens with it


async def test_the_internal_token_rotates_with_both_accepted_in_between() -> None:
    rotating = settings(internal_token=NEW_INTERNAL_TOKEN, internal_token_previous=INTERNAL_TOKEN)
    async with served_gateway(rotating) as gateway:
        path = f"{gateway.owner_url()}/agents"
        async with httpx.AsyncClient(base_url=gateway.url) as client:
            answers = {
                token: (
                    await client.get(path, headers={"Authorization": f"Bearer {token}"})
                ).status_code
                for token in (INTERNAL_TOKEN, NEW_INTERNAL_TOKEN, "not-" + INTERNAL_TOKEN)
            }
    assert answers == {INTERNAL_TOKEN: 200, NEW_INTERNAL_TOKEN: 200, "not-" + INTERNAL_TOKEN: 401}
