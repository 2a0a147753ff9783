"""Launcher over HTTP: clear answers, unavailability, and the grace period when it is down."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest

from nodedc_gateway.adapters.clock import FixedClock
from nodedc_gateway.adapters.http_resilience import Timing
from nodedc_gateway.adapters.launcher.http import HttpLauncher
from nodedc_gateway.application.entitlements import EntitlementService
from nodedc_gateway.domain.entitlement import Entitlement
from nodedc_gateway.domain.errors import (
    ErrorCode,
    GatewayError,
    LauncherUnavailable,
    OwnerNotEntitled,
)
from nodedc_gateway.domain.secret import SecretStr
from tests.support import stand_in
from tests.support.fake_launcher import TOKEN, URL, FakeLauncher
from tests.support.gateway import build_memory_gateway

ALICE = "user-alice"
BOB = "user-bob"


class Rig:
    def __init__(self, fake: FakeLauncher, client: httpx.AsyncClient) -> None:
        self.fake = fake
        self.time = stand_in.FakeTime()
        self.launcher = HttpLauncher(
            base_url=URL,
            token=SecretStr(TOKEN),
            client=client,
            timing=Timing(self.time.monotonic, self.time.sleep, self.time.random),
        )


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    fake = FakeLauncher({ALICE})
    async with httpx.AsyncClient(transport=fake.transport) as client:
        yield Rig(fake, client)


async def test_it_asks_about_codex_agents_on_operational_core(rig: Rig) -> None:
    assert await rig.launcher.is_entitled(ALICE)
    [sent] = rig.fake.transport.sent
    assert sent.path == "/internal/v1/access/check"
    assert sent.query == {"user_id": ALICE, "service": "operational-core", "module": "codex_agents"}
    assert sent.headers["authorization"] == f"Bearer {TOKEN}"


@pytest.mark.parametrize("contour", ["open", "enterprise"])
async def test_a_clear_no_is_false_in_either_contour(rig: Rig, contour: str) -> None:
    rig.fake.contour = contour
    assert await rig.launcher.is_entitled(ALICE)
    assert not await rig.launcher.is_entitled(BOB)
    assert not await rig.launcher.is_entitled("nobody-launcher-knows")


@pytest.mark.parametrize(
    "fault",
    [
        stand_in.REFUSE,
        stand_in.TIMEOUT_AFTER,
        stand_in.DROP_AFTER,
        stand_in.status(503),
        stand_in.status(500),
        stand_in.throttle(1),
        stand_in.status(401),
        stand_in.status(404),
    ],
)
async def test_anything_but_a_clear_answer_is_unavailability(
    rig: Rig, fault: stand_in.Fault
) -> None:
    rig.fake.transport.faults.always(fault)
    with pytest.raises(LauncherUnavailable):
        await rig.launcher.is_entitled(ALICE)


@pytest.mark.parametrize(
    "body",
    [
        {"allowed": "yes"},
        {"entitled": True},
        {"allowed": True, "module": "something_else"},
        {"allowed": True, "user_id": "someone-else"},
        {"allowed": True, "contour": "galactic"},
        ["allowed"],
    ],
)
async def test_an_answer_to_another_question_is_no_answer(rig: Rig, body: object) -> None:
    async def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=body)

    rig.fake.transport._handler = answer
    with pytest.raises(LauncherUnavailable):
        await rig.launcher.is_entitled(ALICE)


async def test_a_down_launcher_is_not_hammered(rig: Rig) -> None:
    rig.fake.switch_off()
    for _ in range(10):
        with pytest.raises(LauncherUnavailable):
            await rig.launcher.is_entitled(ALICE)
    assert len(rig.fake.transport.sent) == 3  # then the breaker answers
    rig.time.advance(15)
    rig.fake.switch_on()
    assert await rig.launcher.is_entitled(ALICE)


async def test_health_and_the_token_stays_secret(rig: Rig) -> None:
    await rig.launcher.check()
    assert TOKEN not in repr(rig.launcher)
    rig.fake.transport.faults.always(stand_in.status(401))
    with pytest.raises(LauncherUnavailable) as raised:
        await rig.launcher.check()
    assert TOKEN not in str(raised.value.as_payload())


# --- the grace period (CONTRACT §3.3), on a fixed clock -------------------------------------


async def test_entitlements_hold_for_the_grace_period_then_fail_closed(rig: Rig) -> None:
    clock = FixedClock()
    service = EntitlementService(rig.launcher)
    start = clock.now()
    assert await service.entitlement(ALICE, clock.now()) is Entitlement.ENTITLED
    assert await service.entitlement(BOB, clock.now()) is Entitlement.NOT_ENTITLED

    rig.fake.switch_off()
    for elapsed in (timedelta(seconds=61), timedelta(minutes=3), timedelta(seconds=299)):
        clock.set(start + elapsed)
        rig.time.advance(elapsed.total_seconds())  # the adapter's breaker lives on, too
        assert await service.entitlement(ALICE, clock.now()) is Entitlement.ENTITLED
        await service.require(ALICE, clock.now())
        assert await service.entitlement(BOB, clock.now()) is Entitlement.NOT_ENTITLED
        with pytest.raises(OwnerNotEntitled):
            await service.require(BOB, clock.now())

    clock.set(start + timedelta(minutes=5))
    for owner in (ALICE, BOB):
        assert await service.entitlement(owner, clock.now()) is Entitlement.UNKNOWN
        with pytest.raises(LauncherUnavailable):
            await service.require(owner, clock.now())

    rig.fake.switch_on()
    rig.time.advance(60)
    clock.advance(seconds=1)
    assert await service.entitlement(ALICE, clock.now()) is Entitlement.ENTITLED


async def test_agents_keep_working_through_the_grace_period_then_are_refused() -> None:
    fake = FakeLauncher(set())
    time = stand_in.FakeTime()
    async with httpx.AsyncClient(transport=fake.transport) as client:
        launcher = HttpLauncher(
            base_url=URL,
            token=SecretStr(TOKEN),
            client=client,
            timing=Timing(time.monotonic, time.sleep, time.random),
        )
        gateway = await build_memory_gateway(launcher=launcher)
        fake.entitled.add(gateway.alice)
        _, token = await gateway.agent_with_token()
        args = {"workspace_slug": "demo", "project_id": "DEMO"}
        assert (await gateway.call(token, "get_project", args)).body

        fake.switch_off()
        gateway.clock.advance(minutes=4)
        time.advance(240)
        assert (await gateway.call(token, "get_project", args)).body

        gateway.clock.advance(minutes=1)
        with pytest.raises(GatewayError) as agent_refused:
            await gateway.call(token, "get_project", args)
        assert agent_refused.value.code is ErrorCode.LAUNCHER_UNAVAILABLE
        with pytest.raises(LauncherUnavailable):
            await gateway.create_agent()

        fake.switch_on()
        time.advance(60)
        assert (await gateway.call(token, "get_project", args)).body
