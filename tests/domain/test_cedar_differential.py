"""Differential testing against Cedar, in the spirit of Cedar's own DRT.

The same grants are written as Cedar policies: one `permit` per (grant, scope), scoped to
the grant's workspace (`resource in Workspace::…`) or project (`resource == Project::…`),
plus one `forbid` for every human-only scope. An operation needing several scopes is
allowed when Cedar allows each of them on the target. Token, agent and entitlement state
reach Cedar as `context.ok`. For random grant sets and requests, both must agree.
"""

from __future__ import annotations

import json
from typing import Any

import cedarpy
from hypothesis import given

from nodedc_gateway.domain.agents import AgentStatus
from nodedc_gateway.domain.entitlement import Entitlement
from nodedc_gateway.domain.evaluation import evaluate_grants
from nodedc_gateway.domain.grants import WORKSPACE_LEVEL, GrantStatus, Target
from nodedc_gateway.domain.operations import TargetLevel
from nodedc_gateway.domain.scopes import DENIED_SCOPES
from tests.domain import strategies as s

FORBID = "forbid(principal, action in [{}], resource);".format(
    ", ".join(f'Action::"{scope}"' for scope in sorted(DENIED_SCOPES))
)
#: Tools that need no grant (whoami, request_access, get_access_request).
FREE = 'permit(principal, action == Action::"op:{}", resource) when {{ context.ok }};'


def _entities() -> list[dict[str, Any]]:
    entities: list[dict[str, Any]] = [
        {"uid": {"type": "Agent", "id": agent_id}, "attrs": {}, "parents": []}
        for agent_id in s.AGENT_IDS
    ]
    for workspace in s.WORKSPACES:
        entities.append({"uid": {"type": "Workspace", "id": workspace}, "attrs": {}, "parents": []})
        entities.extend(
            {
                "uid": {"type": "Project", "id": f"{workspace}/{project}"},
                "attrs": {},
                "parents": [{"type": "Workspace", "id": workspace}],
            }
            for project in s.PROJECTS
        )
    return entities


ENTITIES = json.dumps(_entities())


def _resource(target: Target | None) -> str:
    if target is None:
        return 'Workspace::"nowhere"'
    if target.project_id == WORKSPACE_LEVEL:
        return f'Workspace::"{target.workspace_slug}"'
    return f'Project::"{target.workspace_slug}/{target.project_id}"'


def as_cedar(req: dict[str, Any]) -> str:
    policies = [FORBID]
    for grant in req["grants"]:
        if grant.status is not GrantStatus.ACTIVE:
            continue
        resource = (
            f'resource in Workspace::"{grant.workspace_slug}"'
            if grant.project_id == WORKSPACE_LEVEL
            else f'resource == Project::"{grant.workspace_slug}/{grant.project_id}"'
        )
        policies += [
            f'permit(principal == Agent::"{grant.agent_id}", action == Action::"{scope}", '
            f"{resource}) when {{ context.ok }};"
            for scope in sorted(grant.scopes)
        ]
    operation = req["operation"]
    if operation.target_level is TargetLevel.NONE and not operation.scopes:
        policies.append(FREE.format(operation.name))
    return "\n".join(policies)


def cedar_allows(req: dict[str, Any]) -> bool:
    token, agent, now = req["token"], req["agent"], req["now"]
    ok = (
        token is not None
        and token.agent_id == agent.id
        and token.is_usable(now)
        and agent.status is AgentStatus.ACTIVE
        and req["entitlement"] is Entitlement.ENTITLED
    )
    operation = req["operation"]
    required = operation.required_scopes(req["fields"])
    actions = [str(scope) for scope in sorted(required)]
    if operation.target_level is TargetLevel.NONE and not required:
        actions = [f"op:{operation.name}"]
    requests = [
        {
            "principal": f'Agent::"{agent.id}"',
            "action": f'Action::"{action}"',
            "resource": _resource(req["target"]),
            "context": {"ok": ok},
        }
        for action in actions
    ]
    results = cedarpy.is_authorized_batch(requests, as_cedar(req), ENTITIES)
    for result in results:
        assert not result.diagnostics.errors, result.diagnostics.errors
    return all(result.allowed for result in results)


@given(s.requests())
def test_allow_and_deny_agree_with_cedar(req: dict[str, Any]) -> None:
    ours = evaluate_grants(**req)
    assert ours.allowed is cedar_allows(req), (ours, as_cedar(req))
