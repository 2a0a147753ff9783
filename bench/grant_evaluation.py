"""Part 1: one full decision (reason, missing scopes, grant versions) at 10 to 10,000
grants of one agent, ours against Cedar on the same grants as Cedar policies.

Ours: `evaluate_grants` over a `GrantIndex` built once (as the gateway builds it once per
authenticated caller). Cedar: `cedarpy.is_authorized_batch` on a pre-parsed `PolicySet`
and `Entities`, one request per required scope (an operation needing several scopes is
allowed when Cedar allows each), so Cedar too answers which scopes are missing, and its
determining policies (annotated `@id("grant@version")`) are the grant versions used.

The mapping is the one of `tests/domain/test_cedar_differential.py`: a `permit` per
grant, scoped to its project (`resource == Project::…`) or workspace
(`resource in Workspace::…`), plus one `forbid` for every human-only scope; token, agent
and entitlement state reach Cedar as `context.ok`. Both engines must agree on every
request of the mix before anything is timed.
"""

from __future__ import annotations

import json
import random
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import cedarpy

from bench.stats import median, percentile
from nodedc_gateway.domain.agents import Agent, AgentStatus
from nodedc_gateway.domain.entitlement import Entitlement
from nodedc_gateway.domain.evaluation import Decision, GrantIndex, evaluate_grants
from nodedc_gateway.domain.grants import WORKSPACE_LEVEL, Grant, GrantMode, GrantStatus, Target
from nodedc_gateway.domain.operations import CATALOGUE, Operation
from nodedc_gateway.domain.scopes import ALLOWED_SCOPES, DENIED_SCOPES, Scope
from nodedc_gateway.domain.tokens import AgentToken, TokenStatus

NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
AGENT_ID = "01940000-0000-7000-8000-000000000001"
OWNER = "owner-1"
PROJECTS_PER_WORKSPACE = 50
REQUEST_MIX = 512
MIN_SAMPLES = 50
CHECKED_REQUESTS = 100
#: create_issue's optional fields, each needing a scope of its own.
FIELDS = ("state", "labels", "assignees", "card")
_ALLOWED = sorted(ALLOWED_SCOPES)


@attrs.frozen
class Request:
    target: Target
    fields: frozenset[str]


@attrs.frozen
class SizeResult:
    grants: int
    ours_s: float  # median seconds per decision
    ours_p99_s: float
    cedar_s: float
    cedar_p99_s: float
    index_build_s: float  # GrantIndex from the grants (once per authenticated caller)
    cedar_parse_s: float  # PolicySet + Entities from text (once per policy change)
    allowed: int  # of the checked requests
    samples_ours: int
    samples_cedar: int


@attrs.frozen
class GrantEvaluationResult:
    sizes: tuple[SizeResult, ...]
    timer_overhead_s: float

    def at(self, grants: int) -> SizeResult:
        return next(size for size in self.sizes if size.grants == grants)


# --- the grants and the requests ----------------------------------------------------------


def _project_id(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def make_grants(count: int, rng: random.Random) -> list[Grant]:
    """`count` active grants of one agent over workspaces of 50 places each; one in 50 is
    workspace-level. Scopes are random non-empty subsets of the grantable ones."""
    grants = []
    for i in range(count):
        workspace = f"ws{i // PROJECTS_PER_WORKSPACE}"
        project = WORKSPACE_LEVEL if i % PROJECTS_PER_WORKSPACE == 7 else _project_id(rng)
        scopes = frozenset(s for s in _ALLOWED if rng.random() < 0.5) or {Scope.ISSUE_CREATE}
        grants.append(
            Grant(
                id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                agent_id=AGENT_ID,
                workspace_slug=workspace,
                project_id=project,
                scopes=frozenset(scopes),
                mode=GrantMode.VOLUNTARY,
                version=rng.randint(1, 5),
                status=GrantStatus.ACTIVE,
                created_by_user_id=OWNER,
                created_at=NOW,
                updated_at=NOW,
            )
        )
    return grants


def make_requests(grants: Sequence[Grant], rng: random.Random) -> list[Request]:
    """A mix: 60 % a granted project, 20 % another project of a granted workspace, 20 %
    a workspace the agent has nothing in; each with a random set of extra fields."""
    granted = [g for g in grants if g.project_id != WORKSPACE_LEVEL] or list(grants)
    requests = []
    for _ in range(REQUEST_MIX):
        roll = rng.random()
        if roll < 0.6:
            grant = rng.choice(granted)
            target = Target(grant.workspace_slug, grant.project_id or _project_id(rng))
        elif roll < 0.8:
            target = Target(rng.choice(grants).workspace_slug, _project_id(rng))
        else:
            target = Target("elsewhere", _project_id(rng))
        fields = frozenset(f for f in FIELDS if rng.random() < 0.25)
        requests.append(Request(target, fields))
    return requests


def _agent() -> Agent:
    return Agent(
        id=AGENT_ID,
        owner_user_id=OWNER,
        owner_email="owner@bench.local",
        display_name="Bench agent",
        avatar_url=None,
        status=AgentStatus.ACTIVE,
        created_at=NOW,
        updated_at=NOW,
    )


def _token() -> AgentToken:
    return AgentToken(
        id="token-1",
        agent_id=AGENT_ID,
        name="bench",
        token_hash="0" * 64,
        status=TokenStatus.ACTIVE,
        expires_at=NOW + timedelta(days=30),
        last_used_at=None,
        created_at=NOW - timedelta(days=1),
    )


# --- Cedar -----------------------------------------------------------------------------


FORBID = "forbid(principal, action in [{}], resource);".format(
    ", ".join(f'Action::"{scope}"' for scope in sorted(DENIED_SCOPES))
)


def cedar_policies(grants: Sequence[Grant]) -> str:
    policies = [FORBID]
    for grant in grants:
        resource = (
            f'resource in Workspace::"{grant.workspace_slug}"'
            if grant.project_id == WORKSPACE_LEVEL
            else f'resource == Project::"{grant.workspace_slug}/{grant.project_id}"'
        )
        actions = ", ".join(f'Action::"{scope}"' for scope in sorted(grant.scopes))
        policies.append(
            f'@id("{grant.id}@{grant.version}")\n'
            f'permit(principal == Agent::"{grant.agent_id}", action in [{actions}], {resource}) '
            "when { context.ok };"
        )
    return "\n".join(policies)


def cedar_entities(grants: Sequence[Grant], requests: Sequence[Request]) -> str:
    entities: list[dict[str, Any]] = [
        {"uid": {"type": "Agent", "id": AGENT_ID}, "attrs": {}, "parents": []}
    ]
    workspaces = {g.workspace_slug for g in grants} | {r.target.workspace_slug for r in requests}
    entities += [
        {"uid": {"type": "Workspace", "id": w}, "attrs": {}, "parents": []} for w in workspaces
    ]
    places = {(g.workspace_slug, g.project_id) for g in grants}
    places |= {(r.target.workspace_slug, r.target.project_id) for r in requests}
    entities += [
        {
            "uid": {"type": "Project", "id": f"{w}/{p}"},
            "attrs": {},
            "parents": [{"type": "Workspace", "id": w}],
        }
        for w, p in places
        if p != WORKSPACE_LEVEL
    ]
    return json.dumps(entities)


@attrs.frozen
class CedarDecision:
    allowed: bool
    missing_scopes: tuple[str, ...]
    grant_versions: tuple[str, ...]


class CedarEvaluator:
    """The same decision from Cedar: one batch call per request, a request per scope."""

    def __init__(self, policies: cedarpy.PolicySet, entities: cedarpy.Entities) -> None:
        self._policies = policies
        self._entities = entities

    def decide(self, operation: Operation, request: Request) -> CedarDecision:
        required = sorted(operation.required_scopes(request.fields))
        target = request.target
        resource = f'Project::"{target.workspace_slug}/{target.project_id}"'
        results = cedarpy.is_authorized_batch(
            [
                {
                    "principal": f'Agent::"{AGENT_ID}"',
                    "action": f'Action::"{scope}"',
                    "resource": resource,
                    "context": {"ok": True},
                }
                for scope in required
            ],
            self._policies,
            self._entities,
        )
        missing = tuple(s for s, r in zip(required, results, strict=True) if not r.allowed)
        versions = {reason for r in results if r.allowed for reason in r.diagnostics.reasons}
        return CedarDecision(not missing, missing, tuple(sorted(versions)))


# --- timing ----------------------------------------------------------------------------


def timer_overhead() -> float:
    """The median cost of two back-to-back `perf_counter_ns` reads, in seconds."""
    samples = []
    for _ in range(20_000):
        t0 = time.perf_counter_ns()
        t1 = time.perf_counter_ns()
        samples.append(t1 - t0)
    samples.sort()
    return samples[len(samples) // 2] / 1e9


def time_each(
    decide: Callable[[Request], object],
    requests: Sequence[Request],
    *,
    min_samples: int,
    budget_s: float,
    overhead_s: float,
) -> list[float]:
    """Seconds per call, one sample per call, cycling through `requests` until there are
    `min_samples` samples or the time budget is spent (with at least `MIN_SAMPLES`)."""
    samples: list[float] = []
    deadline = time.perf_counter() + budget_s
    clock = time.perf_counter_ns
    while True:
        for request in requests:
            t0 = clock()
            decide(request)
            t1 = clock()
            samples.append(max(0.0, (t1 - t0) / 1e9 - overhead_s))
            if len(samples) >= min_samples or (
                len(samples) >= MIN_SAMPLES and time.perf_counter() > deadline
            ):
                return samples


def _ours(index: GrantIndex, operation: Operation) -> Callable[[Request], Decision]:
    agent, token = _agent(), _token()

    def decide(request: Request) -> Decision:
        return evaluate_grants(
            token=token,
            agent=agent,
            entitlement=Entitlement.ENTITLED,
            grants=index,
            operation=operation,
            target=request.target,
            now=NOW,
            fields=request.fields,
        )

    return decide


#: Ours is timed in this many rounds, the sizes taking turns within each (order alternating),
#: so a burst of load on this shared machine hits every size alike: "flat" compares sizes.
ROUNDS = 20


@attrs.define
class _Size:
    """One grant count, ready to time: the index, Cedar's policies and the request mix."""

    count: int
    requests: list[Request]
    ours: Callable[[Request], Decision]
    cedar: Callable[[Request], object]
    index_build_s: float
    cedar_parse_s: float
    allowed: int
    ours_samples: list[float] = attrs.field(factory=list)


def prepare_size(count: int) -> _Size:
    rng = random.Random(count)  # the same grants and requests every run
    grants = make_grants(count, rng)
    requests = make_requests(grants, rng)
    operation = CATALOGUE["create_issue"]

    t0 = time.perf_counter()
    index = GrantIndex(AGENT_ID, grants)
    index_build = time.perf_counter() - t0
    t0 = time.perf_counter()
    policies = cedarpy.PolicySet.from_str(cedar_policies(grants))
    entities = cedarpy.Entities.from_json_str(cedar_entities(grants, requests))
    cedar_parse = time.perf_counter() - t0

    ours, cedar = _ours(index, operation), CedarEvaluator(policies, entities)
    allowed = 0
    # Both engines must give the same answers before anything is timed.
    for request in requests[:CHECKED_REQUESTS]:
        a, b = ours(request), cedar.decide(operation, request)
        if a.allowed is not b.allowed or (
            not a.allowed and a.missing_scopes and a.missing_scopes != b.missing_scopes
        ):
            raise AssertionError(f"ours and Cedar disagree on {request}: {a} vs {b}")
        allowed += a.allowed
    return _Size(
        count,
        requests,
        ours,
        lambda r: cedar.decide(operation, r),
        index_build,
        cedar_parse,
        allowed,
    )


def run(sizes: Sequence[int], *, min_samples: int, cedar_budget_s: float) -> GrantEvaluationResult:
    overhead = timer_overhead()
    prepared = [prepare_size(count) for count in sizes]
    per_round = max(1, -(-min_samples // ROUNDS))
    for n in range(ROUNDS):
        for size in prepared if n % 2 == 0 else reversed(prepared):
            size.ours_samples += time_each(
                size.ours,
                size.requests,
                min_samples=per_round,
                budget_s=60.0,
                overhead_s=overhead,
            )
    results = []
    for size in prepared:
        cedar_samples = time_each(
            size.cedar,
            size.requests,
            min_samples=min_samples,
            budget_s=cedar_budget_s,
            overhead_s=overhead,
        )
        results.append(
            SizeResult(
                grants=size.count,
                ours_s=median(size.ours_samples),
                ours_p99_s=percentile(size.ours_samples, 0.99),
                cedar_s=median(cedar_samples),
                cedar_p99_s=percentile(cedar_samples, 0.99),
                index_build_s=size.index_build_s,
                cedar_parse_s=size.cedar_parse_s,
                allowed=size.allowed,
                samples_ours=len(size.ours_samples),
                samples_cedar=len(cedar_samples),
            )
        )
    return GrantEvaluationResult(tuple(results), overhead)
