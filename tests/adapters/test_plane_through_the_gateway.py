"""The whole gateway on the Plane adapter: a keyed create whose answer never arrives."""

from __future__ import annotations

import httpx
import pytest

from nodedc_gateway.adapters.clock import FixedClock
from nodedc_gateway.adapters.http_resilience import Timing
from nodedc_gateway.adapters.tasker.plane import PlaneTasker
from nodedc_gateway.adapters.tasker.seed import seed_demo
from nodedc_gateway.domain.errors import ErrorCode, GatewayError
from nodedc_gateway.domain.secret import SecretStr
from tests.support import stand_in
from tests.support.fake_plane import API_KEY, FakePlane, PlaneSandbox
from tests.support.gateway import build_memory_gateway


async def test_an_agent_retrying_a_create_after_losing_every_answer_gets_one_card() -> None:
    time = stand_in.FakeTime()
    plane = FakePlane(FixedClock())
    sandbox = PlaneSandbox(plane)
    demo = await seed_demo(sandbox)
    transport = stand_in.StandInTransport(plane.handle)
    async with httpx.AsyncClient(transport=transport) as client:
        port = PlaneTasker(
            base_url="https://plane.test",
            api_key=SecretStr(API_KEY),
            workspaces=sandbox.workspace_policies,
            client=client,
            timing=Timing(time.monotonic, time.sleep, time.random),
        )
        gateway = await build_memory_gateway(tasker=port)
        alice = demo.alice.id  # the owner, as Plane knows her
        agent_id = await gateway.create_agent(owner=alice)
        await gateway.grant(agent_id, owner=alice)
        token = await gateway.token(agent_id, owner=alice)
        args = {
            "workspace_slug": "demo",
            "project_id": "DEMO",
            "name": "Ship the adapters",
            "labels": ["bug"],
            "idempotency_key": "ship-1",
        }
        # Plane writes the card, then every answer to it is lost, retries included.
        transport.faults.add(stand_in.DROP_AFTER, method="POST", times=3)
        with pytest.raises(GatewayError) as lost:
            await gateway.call(token, "create_issue", args)
        assert lost.value.code is ErrorCode.TASKER_UNAVAILABLE
        assert len(plane.issues) == 1

        again = await gateway.call(token, "create_issue", args)  # the agent retries
        replay = await gateway.call(token, "create_issue", args)

    [card] = plane.issues.values()
    assert again.body["issue"]["id"] == card["id"]
    assert again.body["issue"]["identifier"] == "DEMO-1"
    assert [label["name"] for label in again.body["issue"]["labels"]] == ["bug"]
    assert again.replayed is False  # an unavailable outcome is never stored
    assert replay.replayed is True
    assert replay.body["issue"]["id"] == card["id"]
    keyed = {s.body["external_id"] for s in transport.sent if s.method == "POST"}
    assert len(keyed) == 1  # one external id, derived from the idempotency key
