"""The internal API (CONTRACT §5) and the public routes: thin controllers over the use cases.

Each handler parses its input, runs one use case through the shared pipeline and shapes
the result; owner scoping, idempotency and audit are the pipeline's."""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

import attrs
import msgspec
from litestar import Controller, Request, Response, delete, get, patch, post, put
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency, Provide
from litestar.handlers.base import BaseRouteHandler
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import JSONBody, QueryParameter
from litestar.types import ControllerRouterHandler

from nodedc_gateway.application.access_requests import DecideAccessRequest, ListAccessRequests
from nodedc_gateway.application.agents import (
    CreateAgent,
    GetAgent,
    IssueToken,
    ListAgents,
    ListTokens,
    RevokeAgent,
    RevokeToken,
    UpdateAgent,
)
from nodedc_gateway.application.audit_trail import ListAuditEvents
from nodedc_gateway.application.grants import (
    CreateGrant,
    ListGrants,
    ListGrantVersions,
    RevokeGrant,
    UpdateGrant,
)
from nodedc_gateway.application.lifecycle import OwnerLifecycle
from nodedc_gateway.application.ownership import ManagementDeps
from nodedc_gateway.application.pairing import CreatePairingCode, RedeemPairingCode
from nodedc_gateway.application.pipeline import Outcome, OwnerAction
from nodedc_gateway.application.workspaces import GetProjectPolicy, SetProjectPolicy
from nodedc_gateway.domain.access_requests import RequestStatus
from nodedc_gateway.entrypoints import schemas as out
from nodedc_gateway.entrypoints.bootstrap import Services
from nodedc_gateway.entrypoints.http import bodies
from nodedc_gateway.entrypoints.http.decoding import MAX_JSON_BODY, JsonRequest
from nodedc_gateway.entrypoints.http.parameters import (
    ActorHeader,
    AgentId,
    AuditCursor,
    AuditText,
    Cursor,
    GrantId,
    IdempotencyHeader,
    Limit,
    OwnerId,
    ProjectRef,
    RequestId,
    Slug,
    Timestamp,
    TokenId,
    user_id_query,
)
from nodedc_gateway.entrypoints.http.security import (
    client_address,
    entity_id,
    internal_only,
    owner_id,
    services_of,
)
from nodedc_gateway.entrypoints.presenter import ContractPresenter

S = TypeVar("S")
AnyRequest = Request[Any, Any, Any]


def _problem(description: str) -> ResponseSpec:
    return ResponseSpec(
        data_container=out.ProblemOut,
        description=description,
        media_type="application/problem+json",
    )


INTERNAL_PROBLEMS = {
    401: _problem("Missing or wrong internal token"),
    403: _problem("Refused (owner_not_entitled, human_only_operation, ...)"),
    404: _problem("No such agent for this owner (or no such grant or token)"),
    409: _problem("A request with this Idempotency-Key is still running"),
    422: _problem("Invalid input; `errors` names each field"),
    503: _problem("Tasker or Launcher is unavailable"),
}


class JsonApi(Controller):
    """A controller of the JSON API (internal and public routes): a body is read only as
    JSON, and checked before it is decoded (`decoding.JsonRequest`). The console, OAuth
    and `/mcp` read their own bodies."""

    request_class = JsonRequest
    request_max_body_size = MAX_JSON_BODY


def answer(outcome: Outcome, shape: type[S], status: int = 200) -> Response[S]:
    headers = {"Idempotent-Replayed": "true"} if outcome.replayed else {}
    return Response(msgspec.convert(outcome.body, shape), status_code=status, headers=headers)


@attrs.frozen
class WriteHeaders:
    """A write's headers: who acts (default: the owner) and its idempotency key."""

    actor: str | None = None
    key: str | None = None


_READ = WriteHeaders()  # no write headers: a read


@attrs.frozen
class OwnerScope:
    """The owner in the path, and what runs their actions through the pipeline."""

    services: Services
    user_id: str

    @property
    def deps(self) -> ManagementDeps:
        return self.services.management

    async def answer(
        self,
        action: OwnerAction[Any],
        shape: type[S],
        status: int = 200,
        write: WriteHeaders = _READ,
    ) -> Response[S]:
        """Run `action` for this owner and answer its outcome in `shape`."""
        pipeline = self.services.pipeline
        outcome = await pipeline.run_owner(owner_id(self.user_id), write.actor, action, write.key)
        return answer(outcome, shape, status)


def _owner(request: AnyRequest, owner_user_id: OwnerId) -> OwnerScope:
    return OwnerScope(services_of(request), owner_user_id)


def _write(actor: ActorHeader = None, idempotency_key: IdempotencyHeader = None) -> WriteHeaders:
    return WriteHeaders(actor, idempotency_key)


Owner = NamedDependency[OwnerScope]
Write = NamedDependency[WriteHeaders]


class InternalApi(JsonApi):
    """A controller of the internal API: the internal token, the problems it documents,
    and the owner (`owner: Owner`) and write headers (`write: Write`) its handlers take."""

    guards = [internal_only]
    responses = INTERNAL_PROBLEMS
    dependencies = {
        "owner": Provide(_owner, sync_to_thread=False),
        "write": Provide(_write, sync_to_thread=False),
    }


class AgentsController(InternalApi):
    path = "/internal/v1/owners/{owner_user_id:str}/agents"
    tags = ["agents"]

    @post(operation_id="create_agent", status_code=201)
    async def create_agent(
        self, owner: Owner, data: JSONBody[bodies.CreateAgentBody], write: Write
    ) -> Response[out.AgentOut]:
        """Create an agent for the owner (Launcher must entitle them)."""
        return await owner.answer(
            CreateAgent(owner.deps, data.arguments()), out.AgentOut, 201, write
        )

    @get(operation_id="list_agents")
    async def list_agents(
        self, owner: Owner, limit: Limit = None, cursor: Cursor = None
    ) -> Response[out.Page[out.AgentOut]]:
        """The owner's agents, oldest first, a page at a time."""
        return await owner.answer(ListAgents(limit, cursor), out.Page[out.AgentOut])

    @get("/{agent_id:str}", operation_id="get_agent")
    async def get_agent(self, owner: Owner, agent_id: AgentId) -> Response[out.AgentOut]:
        """One agent of the owner."""
        return await owner.answer(GetAgent(entity_id(agent_id)), out.AgentOut)

    @patch("/{agent_id:str}", operation_id="update_agent")
    async def update_agent(
        self, owner: Owner, agent_id: AgentId, data: JSONBody[bodies.UpdateAgentBody], write: Write
    ) -> Response[out.AgentOut]:
        """Rename the agent, or set its status to active or disabled."""
        action = UpdateAgent(entity_id(agent_id), data.arguments())
        return await owner.answer(action, out.AgentOut, write=write)

    @post("/{agent_id:str}/revoke", operation_id="revoke_agent", status_code=200)
    async def revoke_agent(
        self, owner: Owner, agent_id: AgentId, write: Write
    ) -> Response[out.AgentOut]:
        """Revoke the agent and all its tokens, for good."""
        return await owner.answer(RevokeAgent(entity_id(agent_id)), out.AgentOut, write=write)


class TokensController(InternalApi):
    path = "/internal/v1/owners/{owner_user_id:str}/agents/{agent_id:str}"
    tags = ["tokens"]

    @post("/tokens", operation_id="issue_token", status_code=201)
    async def issue_token(
        self, owner: Owner, agent_id: AgentId, data: JSONBody[bodies.IssueTokenBody], write: Write
    ) -> Response[out.IssuedTokenOut]:
        """Issue a token; it is in this response only, never again."""
        action = IssueToken(owner.deps, entity_id(agent_id), data.arguments())
        return await owner.answer(action, out.IssuedTokenOut, 201, write)

    @get("/tokens", operation_id="list_tokens")
    async def list_tokens(
        self, owner: Owner, agent_id: AgentId
    ) -> Response[out.Page[out.TokenOut]]:
        """The agent's tokens: metadata and last use, never the token."""
        return await owner.answer(ListTokens(entity_id(agent_id)), out.Page[out.TokenOut])

    @post("/tokens/{token_id:str}/revoke", operation_id="revoke_token", status_code=200)
    async def revoke_token(
        self, owner: Owner, agent_id: AgentId, token_id: TokenId, write: Write
    ) -> Response[out.TokenOut]:
        """Revoke one token; the next call with it is refused."""
        action = RevokeToken(entity_id(agent_id), entity_id(token_id))
        return await owner.answer(action, out.TokenOut, write=write)

    @post("/pairing-codes", operation_id="create_pairing_code", status_code=201)
    async def create_pairing_code(
        self, owner: Owner, agent_id: AgentId, write: Write
    ) -> Response[out.PairingCodeOut]:
        """A single-use pairing code (shown once) for `nodedc-gateway connect`."""
        action = CreatePairingCode(owner.deps, entity_id(agent_id))
        return await owner.answer(action, out.PairingCodeOut, 201, write)


class GrantsController(InternalApi):
    path = "/internal/v1/owners/{owner_user_id:str}/agents/{agent_id:str}/grants"
    tags = ["grants"]

    @get(operation_id="list_grants")
    async def list_grants(
        self,
        owner: Owner,
        agent_id: AgentId,
        include_revoked: Annotated[bool, QueryParameter(required=False)] = False,
    ) -> Response[out.Page[out.GrantOut]]:
        """The agent's grants (active ones unless include_revoked)."""
        action = ListGrants(entity_id(agent_id), include_revoked)
        return await owner.answer(action, out.Page[out.GrantOut])

    @post(operation_id="create_grant", status_code=201)
    async def create_grant(
        self, owner: Owner, agent_id: AgentId, data: JSONBody[bodies.CreateGrantBody], write: Write
    ) -> Response[out.GrantOut]:
        """Grant scopes in a workspace, or one of its projects (version 1)."""
        action = CreateGrant(owner.deps, entity_id(agent_id), data.arguments())
        return await owner.answer(action, out.GrantOut, 201, write)

    @patch("/{grant_id:str}", operation_id="update_grant")
    async def update_grant(
        self,
        owner: Owner,
        agent_id: AgentId,
        grant_id: GrantId,
        data: JSONBody[bodies.UpdateGrantBody],
        write: Write,
    ) -> Response[out.GrantOut]:
        """Change scopes and/or mode: a new version."""
        action = UpdateGrant(entity_id(agent_id), entity_id(grant_id), data.arguments())
        return await owner.answer(action, out.GrantOut, write=write)

    @delete("/{grant_id:str}", operation_id="revoke_grant", status_code=200)
    async def revoke_grant(
        self, owner: Owner, agent_id: AgentId, grant_id: GrantId, write: Write
    ) -> Response[out.GrantOut]:
        """Revoke the grant: its last version says so; the history stays."""
        action = RevokeGrant(entity_id(agent_id), entity_id(grant_id))
        return await owner.answer(action, out.GrantOut, write=write)

    @get("/{grant_id:str}/versions", operation_id="list_grant_versions")
    async def list_grant_versions(
        self, owner: Owner, agent_id: AgentId, grant_id: GrantId
    ) -> Response[out.Page[out.GrantVersionOut]]:
        """Every version of the grant, oldest first."""
        action = ListGrantVersions(entity_id(agent_id), entity_id(grant_id))
        return await owner.answer(action, out.Page[out.GrantVersionOut])


class AuditController(InternalApi):
    path = "/internal/v1/owners/{owner_user_id:str}/agents/{agent_id:str}/audit"
    tags = ["audit"]

    @get(operation_id="list_audit_events")
    async def list_audit_events(
        self,
        owner: Owner,
        agent_id: AgentId,
        limit: Limit = None,
        cursor: AuditCursor = None,
        operation: AuditText = None,
        decision: Annotated[
            str | None,
            QueryParameter(required=False, max_length=5, schema_extra={"enum": ["allow", "deny"]}),
        ] = None,
        event_type: AuditText = None,
        since: Timestamp = None,
        until: Timestamp = None,
    ) -> Response[out.Page[out.AuditEventOut]]:
        """The agent's audit events, newest first, with their hash chain."""
        params = {
            "limit": limit,
            "cursor": cursor,
            "operation": operation,
            "decision": decision,
            "event_type": event_type,
            "since": since,
            "until": until,
        }
        action = ListAuditEvents(
            entity_id(agent_id), {k: v for k, v in params.items() if v is not None}
        )
        return await owner.answer(action, out.Page[out.AuditEventOut])


class OwnersController(InternalApi):
    path = "/internal/v1/owners/{owner_user_id:str}"
    tags = ["owners"]

    @post("/lifecycle", operation_id="owner_lifecycle", status_code=200)
    async def owner_lifecycle(
        self, owner: Owner, data: JSONBody[bodies.LifecycleBody], write: Write
    ) -> Response[out.LifecycleOut]:
        """Launcher's push: suspended disables every agent; deleted revokes them for good."""
        action = OwnerLifecycle(owner.deps, data.arguments())
        return await owner.answer(action, out.LifecycleOut, write=write)


class AccessRequestsController(InternalApi):
    path = "/internal/v1/owners/{owner_user_id:str}/access-requests"
    tags = ["access requests"]

    @get(operation_id="list_access_requests")
    async def list_access_requests(
        self,
        owner: Owner,
        status: Annotated[
            str | None,
            QueryParameter(
                required=False,
                max_length=32,
                schema_extra={"enum": [s.value for s in RequestStatus]},
            ),
        ] = None,
        limit: Limit = None,
        cursor: Cursor = None,
    ) -> Response[out.Page[out.AccessRequestOut]]:
        """The owner's agents' access requests, newest first."""
        action = ListAccessRequests(status, limit, cursor)
        return await owner.answer(action, out.Page[out.AccessRequestOut])

    @post("/{request_id:str}/decision", operation_id="decide_access_request", status_code=200)
    async def decide_access_request(
        self, owner: Owner, request_id: RequestId, data: JSONBody[bodies.DecisionBody], write: Write
    ) -> Response[out.AccessDecisionResult]:
        """Approve (possibly fewer scopes), deny (a note is required) or suggest other scopes."""
        action = DecideAccessRequest(owner.deps, entity_id(request_id), data.arguments())
        return await owner.answer(action, out.AccessDecisionResult, write=write)


class WorkspacesController(InternalApi):
    path = "/internal/v1/workspaces/{slug:str}"
    tags = ["workspaces"]

    @get("/reporting", operation_id="get_reporting_status")
    async def reporting(self, request: AnyRequest, slug: Slug) -> Response[out.ReportingOut]:
        """Reporting mode: open, stale and missing work sessions in the workspace."""
        status = await services_of(request).workspaces.reporting(slug)
        return Response(out_shape(status, out.ReportingOut))

    @get("/features/codex-agents", operation_id="get_feature_status")
    async def feature(
        self,
        request: AnyRequest,
        slug: Slug,
        user_id: Annotated[str, user_id_query()],
    ) -> Response[out.FeatureOut]:
        """Whether Tasker shows the Codex agents feature to this user in this workspace."""
        status = await services_of(request).workspaces.feature(slug, user_id)
        return Response(out_shape(status, out.FeatureOut))

    @get("/projects/{project_id:str}/policy", operation_id="get_project_policy")
    async def get_policy(
        self, request: AnyRequest, slug: Slug, project_id: ProjectRef
    ) -> Response[out.ProjectPolicyOut]:
        """A project's card rules and reporting threshold."""
        action = GetProjectPolicy(services_of(request).management.tasker, slug, project_id)
        return await OwnerScope(services_of(request), action.owner).answer(
            action, out.ProjectPolicyOut
        )

    @put("/projects/{project_id:str}/policy", operation_id="set_project_policy")
    async def set_policy(
        self,
        request: AnyRequest,
        slug: Slug,
        project_id: ProjectRef,
        data: JSONBody[bodies.ProjectPolicyBody],
        write: Write,
    ) -> Response[out.ProjectPolicyOut]:
        """Set a project's card rules and/or reporting threshold (what is left out stays)."""
        services = services_of(request)
        action = SetProjectPolicy(services.management.tasker, slug, project_id, data.arguments())
        return await OwnerScope(services, action.owner).answer(
            action, out.ProjectPolicyOut, write=write
        )


def out_shape(result: object, shape: type[S]) -> S:
    """A read's result in its contract shape (reads that skip the pipeline)."""
    return msgspec.convert(ContractPresenter().present(result), shape)


async def public_budget(
    connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler
) -> None:
    """Guard: the unauthenticated routes' rate limit, spent before the body is read (guards
    run before Litestar decodes it), so that no body, however refused, goes unlimited."""
    await services_of(connection).pipeline.admit_public(client_address(connection))


class PublicController(JsonApi):
    path = "/v1"
    tags = ["public"]

    @post(
        "/pairing/redeem",
        operation_id="redeem_pairing_code",
        status_code=201,
        guards=[public_budget],
        responses={
            404: _problem("Unknown, used or expired pairing code"),
            422: _problem("Not a pairing code"),
            429: _problem("Too many attempts; see Retry-After"),
        },
    )
    async def redeem(
        self, request: AnyRequest, data: JSONBody[bodies.RedeemBody]
    ) -> Response[out.RedeemOut]:
        """Trade a pairing code for an agent token (once). Rate limited per address."""
        action = RedeemPairingCode(services_of(request).management, data.arguments())
        outcome = await services_of(request).pipeline.run_admitted(action)  # public_budget
        return answer(outcome, out.RedeemOut, 201)


class HealthOut(msgspec.Struct, kw_only=True):
    status: str
    checks: dict[str, str] = msgspec.field(default_factory=dict)


class HealthController(Controller):
    path = "/health"
    tags = ["health"]

    @get("/live", operation_id="health_live")
    async def live(self) -> HealthOut:
        """The process answers."""
        return HealthOut(status="ok")

    @get(
        "/ready",
        operation_id="health_ready",
        responses={503: ResponseSpec(data_container=HealthOut, description="Not ready")},
    )
    async def ready(self, request: AnyRequest) -> Response[HealthOut]:
        """The database and the configured Tasker and Launcher answer."""
        checks: dict[str, str] = {}
        for name, check in services_of(request).readiness.items():
            try:
                await check()
            except Exception as error:
                checks[name] = f"unavailable: {type(error).__name__}"
            else:
                checks[name] = "ok"
        ready = all(value == "ok" for value in checks.values())
        return Response(
            HealthOut(status="ok" if ready else "unavailable", checks=checks),
            status_code=200 if ready else 503,
        )


@get(
    "/metrics",
    operation_id="metrics",
    tags=["health"],
    include_in_schema=True,
    media_type="text/plain",
)
async def metrics(request: AnyRequest) -> Response[bytes]:
    """Prometheus metrics."""
    body, content_type = request.app.state.metrics.render()
    return Response(body, media_type=content_type)


ROUTES: list[ControllerRouterHandler] = [
    AgentsController,
    TokensController,
    GrantsController,
    AuditController,
    OwnersController,
    AccessRequestsController,
    WorkspacesController,
    PublicController,
    HealthController,
    metrics,
]
