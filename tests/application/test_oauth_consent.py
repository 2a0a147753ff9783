"""Who consents: the pairing-code consenter (used now) and the owner-session consenter
(ready for the owner console), through the OAuth use cases on the memory adapters."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from nodedc_gateway.adapters.clock import FixedClock
from nodedc_gateway.adapters.hashing import HmacSecretHasher
from nodedc_gateway.adapters.ids import SystemSecretGenerator, UUIDv7Generator
from nodedc_gateway.adapters.persistence.memory import MemoryUnitOfWorkFactory
from nodedc_gateway.adapters.ratelimit.memory import MemoryRateLimitStore
from nodedc_gateway.application.oauth import OAuthDeps, OAuthRefused, OAuthService, Pending
from nodedc_gateway.application.oauth_consent import OwnerSessionConsenter, PairingCodeConsenter
from nodedc_gateway.domain.agents import AgentStatus
from nodedc_gateway.domain.errors import NotFound, ValidationFailed
from nodedc_gateway.domain.pairing import PairingCode, PairingCodeInvalid
from nodedc_gateway.domain.ratelimit import RatePolicy
from nodedc_gateway.domain.secret import SecretStr
from nodedc_gateway.ports.client_documents import ClientDocumentUnavailable
from tests.support import entities as e

RESOURCE = "https://gateway.example/mcp"


class NoDocuments:
    async def fetch(self, url: str) -> Mapping[str, Any]:
        raise ClientDocumentUnavailable("no network here")


def _service() -> OAuthService:
    policy = RatePolicy("redeem", 10, 60, 10)
    return OAuthService(
        OAuthDeps(
            uow=MemoryUnitOfWorkFactory(),
            ids=UUIDv7Generator(),
            secrets=SystemSecretGenerator(),
            hasher=HmacSecretHasher(SecretStr("pepper-for-tests-0123456789abcdefghijklmnop"), ()),
            clock=FixedClock(e.T0),
            documents=NoDocuments(),
            rate_limits=MemoryRateLimitStore(),
            consent_per_client=policy,
            consent_global=policy,
            resource=RESOURCE,
        )
    )


def _pending(client_id: str, resource: str = RESOURCE) -> Pending:
    return Pending(client_id, "http://127.0.0.1:9/cb", True, "x" * 43, "s", resource, ())


async def _setup(service: OAuthService, status: AgentStatus = AgentStatus.ACTIVE) -> Any:
    agent = e.agent("owner-1")
    agent.status = status
    async with service.d.uow() as uow:
        await uow.agents.add(agent)
        await uow.commit()
    client = await service.register(
        "client-1", {"client_name": "C", "redirect_uris": ["http://127.0.0.1:9/cb"]}
    )
    return agent, client


async def test_an_owner_session_consents_for_its_own_active_agent_only() -> None:
    service = _service()
    agent, client = await _setup(service)
    view = await service.view(
        _pending(client.client_id), OwnerSessionConsenter("owner-1", agent.id)
    )
    assert view.agent.id == agent.id
    code = await service.approve(
        _pending(client.client_id), OwnerSessionConsenter("owner-1", agent.id)
    )
    assert code.startswith("ndcc_")
    with pytest.raises(NotFound):
        await service.approve(
            _pending(client.client_id), OwnerSessionConsenter("owner-2", agent.id)
        )
    with pytest.raises(ValidationFailed):
        OwnerSessionConsenter("owner-1", "")


async def test_an_owner_session_cannot_consent_for_a_disabled_agent() -> None:
    service = _service()
    agent, client = await _setup(service, AgentStatus.DISABLED)
    with pytest.raises(ValidationFailed, match="disabled"):
        await service.approve(
            _pending(client.client_id), OwnerSessionConsenter("owner-1", agent.id)
        )


async def test_a_pairing_code_is_shown_freely_and_used_once_on_approval() -> None:
    service = _service()
    agent, client = await _setup(service)
    async with service.d.uow() as uow:
        await uow.pairing_codes.add(
            PairingCode.issue(
                code_id=e.new_id(),
                agent_id=agent.id,
                code_hash=service.d.hasher.hash("BCDFGHJK"),
                now=e.T0,
            )
        )
        await uow.commit()
    pending = _pending(client.client_id)
    for _ in range(2):
        assert (
            await service.view(pending, PairingCodeConsenter(service.d.hasher, "bcdf-ghjk"))
        ).agent.id == agent.id
    await service.approve(pending, PairingCodeConsenter(service.d.hasher, "BCDF-GHJK"))
    with pytest.raises(PairingCodeInvalid):
        await service.approve(pending, PairingCodeConsenter(service.d.hasher, "BCDF-GHJK"))


async def test_another_resource_or_an_unknown_client_mints_nothing() -> None:
    service = _service()
    agent, client = await _setup(service)
    consenter = OwnerSessionConsenter("owner-1", agent.id)
    with pytest.raises(OAuthRefused) as other:
        await service.approve(_pending(client.client_id, "https://other.example/mcp"), consenter)
    assert other.value.error == "invalid_target"
    with pytest.raises(OAuthRefused) as unknown:
        await service.approve(_pending("https://client.example/meta.json"), consenter)
    assert unknown.value.error == "invalid_client"
