"""Agent lifecycle, grant versions, scope parsing and the operation catalogue."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nodedc_gateway.domain.agents import Agent, AgentStatus
from nodedc_gateway.domain.errors import HumanOnlyOperation, ValidationFailed
from nodedc_gateway.domain.grants import Grant, GrantChange, GrantMode, GrantStatus, Target
from nodedc_gateway.domain.operations import AGENT_TOOLS, CATALOGUE, Audience, tools_usable_with
from nodedc_gateway.domain.scopes import (
    ALLOWED_SCOPES,
    DENIED_SCOPES,
    MAX_SCOPES_PER_REQUEST,
    Scope,
    is_denied,
    parse_grantable_scopes,
    parse_scopes,
)
from tests.domain import strategies as s


def new_agent() -> Agent:
    return Agent.register(
        agent_id="a1",
        owner_user_id="owner-x",
        owner_email="Alice@Demo.Local",
        display_name="  Coder  ",
        avatar_url=None,
        now=s.NOW,
    )


def test_a_registered_agent_is_active_with_its_bot_identity() -> None:
    agent = new_agent()
    assert agent.status is AgentStatus.ACTIVE
    assert agent.display_name == "Coder"
    assert agent.owner_email == "alice@demo.local"
    assert agent.bot_display_name == "Codex Agent: Coder"
    assert agent.bot_email == "agent+a1@agents.nodedc.local"


@given(st.lists(st.sampled_from(["disable", "enable", "revoke"]), max_size=10))
def test_status_transitions_follow_the_lifecycle(steps: list[str]) -> None:
    agent = new_agent()
    revoked = False
    for step in steps:
        if revoked and step != "revoke":
            with pytest.raises(ValidationFailed):
                getattr(agent, step)(s.NOW)
            continue
        getattr(agent, step)(s.NOW)
        revoked = revoked or step == "revoke"
        expected = {"disable": AgentStatus.DISABLED, "enable": AgentStatus.ACTIVE}.get(
            step, AgentStatus.REVOKED
        )
        assert agent.status is expected
    assert (agent.status is AgentStatus.REVOKED) == revoked


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("display_name", ""),
        ("display_name", "x" * 101),
        ("owner_email", "nope"),
        ("avatar_url", "ftp://x"),
        ("avatar_url", "https://"),
        ("avatar_url", "https://cdn.example/a\tb.png"),
        ("avatar_url", "https://cdn.example/a.png\nX-Injected: 1"),
    ],
)
def test_bad_agent_input_names_the_field(field: str, value: str) -> None:
    fields = {"owner_email": "a@b.co", "display_name": "A", "avatar_url": None, field: value}
    with pytest.raises(ValidationFailed) as raised:
        Agent.register(agent_id="a", owner_user_id="o", now=s.NOW, **fields)
    assert raised.value.errors[0].field == field


def test_unknown_scopes_are_named_and_denied_ones_are_human_only() -> None:
    with pytest.raises(ValidationFailed) as unknown:
        parse_scopes(["issue:read", "issue:destroy"])
    assert unknown.value.errors[0].field == "scopes[1]"
    assert "issue:destroy" in unknown.value.message
    with pytest.raises(HumanOnlyOperation) as denied:
        parse_grantable_scopes(["issue:read", "issue:delete"])
    assert "issue:delete" in denied.value.message
    with pytest.raises(ValidationFailed):
        parse_grantable_scopes([])
    assert parse_grantable_scopes(["issue:read", "issue:read"]) == {Scope.ISSUE_READ}


def test_the_scope_sets_are_exactly_the_contract() -> None:
    assert len(ALLOWED_SCOPES) == 11
    assert len(DENIED_SCOPES) == 12
    assert not ALLOWED_SCOPES & DENIED_SCOPES


def _grant() -> tuple[Grant, object]:
    return Grant.create(
        grant_id="g1",
        agent_id="a1",
        workspace_slug="demo",
        project_id=s.PROJECTS[0],
        scopes=["issue:read"],
        mode="voluntary",
        by_user_id="owner-x",
        now=s.NOW,
    )


def test_every_grant_change_is_a_new_version() -> None:
    grant, first = _grant()
    assert (grant.version, first.change) == (1, GrantChange.CREATED)  # type: ignore[attr-defined]
    second = grant.change(by_user_id="admin", now=s.NOW, scopes=["issue:read", "issue:create"])
    third = grant.change(by_user_id="admin", now=s.NOW, mode="reporting")
    fourth = grant.revoke(by_user_id="admin", now=s.NOW)
    assert [v.version for v in (second, third, fourth)] == [2, 3, 4]
    assert second.scopes == {Scope.ISSUE_READ, Scope.ISSUE_CREATE}
    assert third.mode is GrantMode.REPORTING
    assert fourth.status is GrantStatus.REVOKED
    with pytest.raises(ValidationFailed):
        grant.change(by_user_id="admin", now=s.NOW, mode="voluntary")


def test_a_grant_covers_its_project_or_its_whole_workspace() -> None:
    grant, _ = _grant()
    assert grant.covers(Target("demo", s.PROJECTS[0]))
    assert not grant.covers(Target("demo", s.PROJECTS[1]))
    assert not grant.covers(Target("other", s.PROJECTS[0]))
    grant.project_id = ""
    assert grant.covers(Target("demo", s.PROJECTS[1]))


def test_every_tool_of_the_contract_is_in_the_catalogue() -> None:
    tools = {
        "whoami",
        "list_projects",
        "get_project",
        "search_issues",
        "get_issue",
        "create_issue",
        "update_issue",
        "move_issue",
        "set_issue_labels",
        "set_issue_assignees",
        "add_comment",
        "update_card",
        "update_checkers",
        "add_project_member",
        "start_work_session",
        "report_progress",
        "finish_work_session",
        "request_access",
        "get_access_request",
    }
    assert {op.name for op in AGENT_TOOLS} == tools
    create = CATALOGUE["create_issue"]
    assert create.required_scopes([]) == {Scope.ISSUE_CREATE}
    assert create.required_scopes(["state", "labels", "assignees", "card", "name"]) == {
        Scope.ISSUE_CREATE,
        Scope.ISSUE_MOVE,
        Scope.ISSUE_LABEL,
        Scope.ISSUE_ASSIGN,
        Scope.ISSUE_STRUCTURED_BLOCKS_WRITE,
    }
    for op in CATALOGUE.values():
        if op.audience is Audience.HUMAN_ONLY:
            assert op.scopes <= DENIED_SCOPES
            assert op.scopes


def test_tools_listed_follow_what_is_held() -> None:
    listed = {op.name for op in tools_usable_with({Scope.ISSUE_READ})}
    assert listed == {
        "whoami",
        "request_access",
        "get_access_request",
        "search_issues",
        "get_issue",
    }


def test_a_scope_list_is_bounded_at_exactly_its_maximum() -> None:
    """Guards `len(items) > MAX_SCOPES_PER_REQUEST` (scopes.py:70): the maximum itself
    passes, one more is refused before any scope is looked at."""
    assert parse_scopes(["issue:read"] * MAX_SCOPES_PER_REQUEST) == {Scope.ISSUE_READ}
    with pytest.raises(ValidationFailed) as raised:
        parse_scopes(["issue:read"] * (MAX_SCOPES_PER_REQUEST + 1))
    assert raised.value.errors[0].field == "scopes"


@pytest.mark.parametrize("odd", [["issue:read"], {"scope": "issue:read"}, 7, None])
def test_a_scope_that_is_not_text_is_named_not_a_crash(odd: object) -> None:
    """Guards `isinstance(value, str)` in `parse_scopes` (scopes.py:75): a list or object
    where a scope belongs is a 422 naming its index, not a TypeError."""
    with pytest.raises(ValidationFailed) as raised:
        parse_scopes(["issue:read", odd])
    assert raised.value.errors[0].field == "scopes[1]"


def test_is_denied_is_the_denied_set() -> None:
    """Guards `is_denied` (scopes.py:64)."""
    assert {scope for scope in Scope if is_denied(scope)} == DENIED_SCOPES
    assert not is_denied("issue:teleport")
