"""A whole gateway for tests, with the demo data seeded: on in-memory adapters, or with
the SQL unit of work and rate limits on a given engine."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs
from sqlalchemy.ext.asyncio import AsyncEngine

from nodedc_gateway.adapters.clock import FixedClock
from nodedc_gateway.adapters.hashing import HmacSecretHasher
from nodedc_gateway.adapters.ids import SystemSecretGenerator, UUIDv7Generator
from nodedc_gateway.adapters.launcher.static import StaticLauncher
from nodedc_gateway.adapters.markup import MarkdownRenderer
from nodedc_gateway.adapters.persistence.memory import MemoryUnitOfWorkFactory
from nodedc_gateway.adapters.persistence.sql import SqlCallerLookup, SqlUnitOfWorkFactory
from nodedc_gateway.adapters.persistence.sql.admission import SqlCallerAdmission
from nodedc_gateway.adapters.persistence.sql.call_record import SqlCallRecorder
from nodedc_gateway.adapters.ratelimit.memory import MemoryRateLimitStore
from nodedc_gateway.adapters.ratelimit.sql import SqlRateLimitStore
from nodedc_gateway.adapters.tasker.memory import MemoryTasker
from nodedc_gateway.adapters.tasker.seed import DemoTasker, seed_demo
from nodedc_gateway.application.agents import CreateAgent, IssueToken
from nodedc_gateway.application.entitlements import EntitlementService
from nodedc_gateway.application.grants import CreateGrant
from nodedc_gateway.application.ownership import ManagementDeps
from nodedc_gateway.application.pipeline import Outcome, OwnerAction, Pipeline, RateLimits
from nodedc_gateway.application.targeting import ToolDeps
from nodedc_gateway.application.tools import build_tool
from nodedc_gateway.domain.scopes import ALLOWED_SCOPES
from nodedc_gateway.domain.secret import SecretStr
from nodedc_gateway.entrypoints.presenter import ContractPresenter
from nodedc_gateway.ports.audit import CallRecorder
from nodedc_gateway.ports.callers import CallerAdmission, CallerLookup
from nodedc_gateway.ports.launcher import LauncherPort
from nodedc_gateway.ports.ratelimit import RateLimitStore
from nodedc_gateway.ports.tasker import TaskerPort
from nodedc_gateway.ports.unit_of_work import UnitOfWorkFactory

PEPPER = SecretStr("test-pepper-0123456789abcdef0123456789abcdef")
MCP_URL = "http://127.0.0.1:8000/mcp"


@attrs.define
class MemoryGateway:
    clock: FixedClock
    uow: UnitOfWorkFactory
    tasker: MemoryTasker
    launcher: StaticLauncher
    entitlements: EntitlementService
    pipeline: Pipeline
    tools: ToolDeps
    management: ManagementDeps
    demo: DemoTasker
    rate_limits: RateLimitStore

    @property
    def alice(self) -> str:
        return self.demo.alice.id

    async def owner(
        self,
        action: OwnerAction[Any],
        owner: str | None = None,
        key: str | None = None,
        actor: str | None = None,
    ) -> Outcome:
        return await self.pipeline.run_owner(owner or self.alice, actor, action, key)

    async def create_agent(self, owner: str | None = None, name: str = "Test agent") -> str:
        outcome = await self.owner(
            CreateAgent(self.management, {"display_name": name, "owner_email": "alice@demo.local"}),
            owner,
        )
        return str(outcome.body["id"])

    async def grant(
        self,
        agent_id: str,
        *,
        scopes: Sequence[str] | None = None,
        project: str | None = "DEMO",
        workspace: str = "demo",
        owner: str | None = None,
        mode: str = "voluntary",
    ) -> Mapping[str, Any]:
        body: dict[str, Any] = {
            "workspace_slug": workspace,
            "scopes": sorted(ALLOWED_SCOPES) if scopes is None else list(scopes),
            "mode": mode,
        }
        if project is not None:
            body["project_id"] = project
        outcome = await self.owner(CreateGrant(self.management, agent_id, body), owner)
        return outcome.body

    async def token(self, agent_id: str, owner: str | None = None, days: int = 90) -> SecretStr:
        outcome = await self.owner(
            IssueToken(self.management, agent_id, {"name": "test", "expires_in_days": days}),
            owner,
        )
        return SecretStr(str(outcome.body["token"]))

    async def agent_with_token(
        self, scopes: Sequence[str] | None = None, project: str | None = "DEMO"
    ) -> tuple[str, SecretStr]:
        agent_id = await self.create_agent()
        await self.grant(agent_id, scopes=scopes, project=project)
        return agent_id, await self.token(agent_id)

    async def call(
        self, token: SecretStr, tool: str, args: Mapping[str, Any] | None = None
    ) -> Outcome:
        return await self.pipeline.run_agent(token, build_tool(self.tools, tool, args))

    async def audit(self, agent_id: str) -> list[Any]:
        async with self.uow() as uow:
            return list(await uow.audit.chain(agent_id))


async def build_memory_gateway(
    *,
    limits: RateLimits | None = None,
    entitled: Sequence[str] = ("*",),
    tasker: TaskerPort | None = None,
    launcher: LauncherPort | None = None,
) -> MemoryGateway:
    return await build_gateway(
        MemoryUnitOfWorkFactory(),
        MemoryRateLimitStore(),
        limits=limits,
        entitled=entitled,
        tasker=tasker,
        launcher=launcher,
    )


async def build_sql_gateway(
    engine: AsyncEngine,
    *,
    limits: RateLimits | None = None,
    entitled: Sequence[str] = ("*",),
    tasker: TaskerPort | None = None,
    launcher: LauncherPort | None = None,
) -> MemoryGateway:
    """The same gateway with the SQL unit of work and rate limits on `engine` (a migrated
    database); Tasker stays the seeded in-memory one unless `tasker` replaces it."""
    return await build_gateway(
        SqlUnitOfWorkFactory(engine),
        SqlRateLimitStore(engine),
        callers=SqlCallerLookup(engine),
        admission=SqlCallerAdmission(engine),
        recorder=SqlCallRecorder(engine),
        limits=limits,
        entitled=entitled,
        tasker=tasker,
        launcher=launcher,
    )


async def build_gateway(
    uow: UnitOfWorkFactory,
    rate_limits: RateLimitStore,
    *,
    callers: CallerLookup | None = None,
    admission: CallerAdmission | None = None,
    recorder: CallRecorder | None = None,
    limits: RateLimits | None = None,
    entitled: Sequence[str] = ("*",),
    tasker: TaskerPort | None = None,
    launcher: LauncherPort | None = None,
) -> MemoryGateway:
    """`entitled` configures the static Launcher; a `launcher` given replaces it for
    entitlement checks (the static one stays in `MemoryGateway.launcher`, unused)."""
    clock = FixedClock()
    ids = UUIDv7Generator()
    memory_tasker = MemoryTasker(ids, clock)
    demo = await seed_demo(memory_tasker)
    static_launcher = StaticLauncher(entitled)
    entitlements = EntitlementService(launcher or static_launcher)
    hasher = HmacSecretHasher(PEPPER)
    limits = limits or RateLimits()
    pipeline = Pipeline(
        uow=uow,
        clock=clock,
        ids=ids,
        hasher=hasher,
        rate_limits=rate_limits,
        limits=limits,
        entitlements=entitlements,
        presenter=ContractPresenter(),
        callers=callers,
        admission=admission,
        recorder=recorder,
    )
    port = tasker or memory_tasker
    tools = ToolDeps(tasker=port, markup=MarkdownRenderer(), uow=uow, ids=ids, limits=limits)
    management = ManagementDeps(
        tasker=port,
        entitlements=entitlements,
        ids=ids,
        secrets=SystemSecretGenerator(),
        hasher=hasher,
        clock=clock,
        mcp_url=MCP_URL,
        uow=uow,
    )
    return MemoryGateway(
        clock,
        uow,
        memory_tasker,
        static_launcher,
        entitlements,
        pipeline,
        tools,
        management,
        demo,
        rate_limits,
    )
