"""The whole gateway (the real pipeline and use cases) on each persistence backend:
workflows that touch several repositories at once behave the same on all of them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from nodedc_gateway.application.agents import RevokeAgent
from nodedc_gateway.application.pairing import CreatePairingCode, RedeemPairingCode
from nodedc_gateway.domain.audit import verify_chain
from nodedc_gateway.domain.errors import Unauthenticated
from nodedc_gateway.domain.pairing import PairingCodeInvalid
from nodedc_gateway.domain.secret import SecretStr
from nodedc_gateway.domain.tokens import LAST_USED_RESOLUTION
from tests.contracts.persistence_backends import BACKENDS, backend_params
from tests.support.gateway import MemoryGateway, build_memory_gateway, build_sql_gateway


@pytest.fixture(params=backend_params())
async def gateway(request: pytest.FixtureRequest) -> AsyncIterator[MemoryGateway]:
    if request.param == "memory":
        yield await build_memory_gateway()
        return
    async with BACKENDS[request.param]() as backend:
        assert backend.engine is not None
        yield await build_sql_gateway(backend.engine)


async def test_pairing_redeem_and_revocation_end_to_end(gateway: MemoryGateway) -> None:
    agent_id = await gateway.create_agent()
    await gateway.grant(agent_id)
    code = (await gateway.owner(CreatePairingCode(gateway.management, agent_id))).body["code"]

    redeem = RedeemPairingCode(gateway.management, {"code": code, "token_name": "laptop"})
    redeemed = await gateway.pipeline.run_public("127.0.0.1", redeem)
    token = SecretStr(str(redeemed.body["token"]))
    assert (await gateway.call(token, "whoami")).body["agent"]["id"] == agent_id
    with pytest.raises(PairingCodeInvalid):  # single use
        await gateway.pipeline.run_public(
            "127.0.0.1", RedeemPairingCode(gateway.management, {"code": code})
        )

    await gateway.owner(RevokeAgent(agent_id))
    with pytest.raises(Unauthenticated):
        await gateway.call(token, "whoami")
    async with gateway.uow() as uow:
        tokens = await uow.tokens.list_by_agent(agent_id)
        chain = list(await uow.audit.chain(agent_id))
        head = await uow.audit.head(agent_id)
    assert {str(t.status) for t in tokens} == {"revoked"}
    assert verify_chain(agent_id, chain, head).ok


async def test_a_tokens_last_use_is_written_at_most_once_a_minute(
    gateway: MemoryGateway,
) -> None:
    agent_id, token = await gateway.agent_with_token()
    first = gateway.clock.now()

    async def last_used() -> object:
        async with gateway.uow() as uow:
            (stored,) = await uow.tokens.list_by_agent(agent_id)
        return stored.last_used_at

    await gateway.call(token, "whoami")
    assert await last_used() == first
    gateway.clock.advance(seconds=30)
    await gateway.call(token, "whoami")
    assert await last_used() == first  # within the minute: not written again
    gateway.clock.advance(LAST_USED_RESOLUTION - timedelta(seconds=30))
    await gateway.call(token, "whoami")
    assert await last_used() == gateway.clock.now()
