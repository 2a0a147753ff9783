"""Grants: creation, versions, coverage and their exact refusals.

Written to kill the mutants `make mutation` found alive in grants.py (docs/mutation.md):
every field of a grant and of each version it records is pinned, and so is each refusal.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from nodedc_gateway.domain.errors import HumanOnlyOperation, ValidationFailed
from nodedc_gateway.domain.grants import (
    WORKSPACE_LEVEL,
    Grant,
    GrantChange,
    GrantMode,
    GrantRef,
    GrantStatus,
    GrantVersion,
    Target,
    parse_mode,
)
from nodedc_gateway.domain.scopes import Scope
from tests.domain import strategies as s

PROJECT = s.PROJECTS[0]
LATER = s.NOW + timedelta(hours=1)


def errors_of(refused: pytest.ExceptionInfo[ValidationFailed]) -> list[tuple[str, str]]:
    return [(e.field, e.message) for e in refused.value.errors]


def create(**changes: object) -> tuple[Grant, GrantVersion]:
    arguments: dict[str, object] = {
        "grant_id": "g1",
        "agent_id": "a1",
        "workspace_slug": "demo",
        "project_id": PROJECT,
        "scopes": ["issue:read", "issue:move"],
        "mode": "reporting",
        "by_user_id": "owner-x",
        "now": s.NOW,
    }
    arguments.update(changes)
    return Grant.create(**arguments)  # type: ignore[arg-type]


def test_modes_parse_and_anything_else_is_named() -> None:
    assert parse_mode("voluntary") is GrantMode.VOLUNTARY
    assert parse_mode("reporting") is GrantMode.REPORTING
    for bad in ["Voluntary", "", None, 1]:
        with pytest.raises(ValidationFailed) as refused:
            parse_mode(bad)
        assert errors_of(refused) == [("mode", "must be 'voluntary' or 'reporting'")]
    with pytest.raises(ValidationFailed) as refused:
        parse_mode("x", field="grant.mode")
    assert errors_of(refused) == [("grant.mode", "must be 'voluntary' or 'reporting'")]


def test_targets_and_refs_as_dicts() -> None:
    assert Target("demo").as_dict() == {"workspace_slug": "demo", "project_id": None}
    assert Target("demo").project_id == WORKSPACE_LEVEL == ""
    assert Target("demo", PROJECT).as_dict() == {"workspace_slug": "demo", "project_id": PROJECT}
    assert GrantRef("g1", 3).as_dict() == {"grant_id": "g1", "version": 3}


def test_a_created_grant_is_version_one_with_every_field() -> None:
    grant, version = create(workspace_slug=" demo ", project_id=PROJECT.upper())
    assert grant == Grant(
        id="g1",
        agent_id="a1",
        workspace_slug="demo",
        project_id=PROJECT.lower(),
        scopes=frozenset({Scope.ISSUE_READ, Scope.ISSUE_MOVE}),
        mode=GrantMode.REPORTING,
        version=1,
        status=GrantStatus.ACTIVE,
        created_by_user_id="owner-x",
        created_at=s.NOW,
        updated_at=s.NOW,
    )
    assert version == GrantVersion(
        grant_id="g1",
        agent_id="a1",
        version=1,
        workspace_slug="demo",
        project_id=PROJECT.lower(),
        scopes=frozenset({Scope.ISSUE_READ, Scope.ISSUE_MOVE}),
        mode=GrantMode.REPORTING,
        status=GrantStatus.ACTIVE,
        change=GrantChange.CREATED,
        changed_by_user_id="owner-x",
        changed_at=s.NOW,
        note=None,
    )
    assert grant.ref == GrantRef("g1", 1)
    assert (grant.is_active, grant.is_workspace_level) == (True, False)


def test_a_workspace_level_grant_has_no_project() -> None:
    grant, _ = create(project_id=WORKSPACE_LEVEL)
    assert grant.is_workspace_level
    assert grant.covers(Target("demo", PROJECT))
    assert grant.covers(Target("demo"))
    assert not grant.covers(Target("other", PROJECT))
    assert not grant.covers(Target("other"))


def test_a_project_grant_does_not_cover_its_workspace_itself() -> None:
    grant, _ = create()
    assert not grant.covers(Target("demo"))
    assert grant.covers(Target("demo", PROJECT))


@pytest.mark.parametrize("project_id", ["p1", "not-a-uuid", PROJECT + "0", " "])
def test_a_project_must_be_a_uuid(project_id: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        create(project_id=project_id)
    assert errors_of(refused) == [("project_id", "must be a project UUID or omitted")]


def test_creation_checks_its_slug_scopes_and_mode() -> None:
    with pytest.raises(ValidationFailed) as refused:
        create(workspace_slug="Not A Slug")
    assert [e.field for e in refused.value.errors] == ["workspace_slug"]
    with pytest.raises(HumanOnlyOperation):
        create(scopes=["issue:delete"])
    with pytest.raises(ValidationFailed) as refused:
        create(scopes=[])
    assert errors_of(refused) == [("scopes", "give at least one scope")]
    with pytest.raises(ValidationFailed) as refused:
        create(mode="sometimes")
    assert [e.field for e in refused.value.errors] == ["mode"]


def test_a_change_of_scopes_keeps_the_mode_and_records_who_when_and_why() -> None:
    grant, _ = create()
    version = grant.change(by_user_id="admin", now=LATER, scopes=["issue:create"], note="n")
    assert version == GrantVersion(
        grant_id="g1",
        agent_id="a1",
        version=2,
        workspace_slug="demo",
        project_id=PROJECT,
        scopes=frozenset({Scope.ISSUE_CREATE}),
        mode=GrantMode.REPORTING,
        status=GrantStatus.ACTIVE,
        change=GrantChange.UPDATED,
        changed_by_user_id="admin",
        changed_at=LATER,
        note="n",
    )
    assert (grant.version, grant.updated_at, grant.created_at) == (2, LATER, s.NOW)
    assert grant.scopes == {Scope.ISSUE_CREATE}
    assert grant.ref == GrantRef("g1", 2)


def test_a_change_of_mode_keeps_the_scopes() -> None:
    grant, _ = create()
    version = grant.change(by_user_id="admin", now=LATER, mode="voluntary")
    assert (version.mode, version.scopes) == (
        GrantMode.VOLUNTARY,
        {Scope.ISSUE_READ, Scope.ISSUE_MOVE},
    )
    assert (version.change, version.note, version.version) == (GrantChange.UPDATED, None, 2)
    assert grant.mode is GrantMode.VOLUNTARY


def test_a_change_needs_something_to_change() -> None:
    grant, _ = create()
    with pytest.raises(ValidationFailed) as refused:
        grant.change(by_user_id="admin", now=LATER)
    assert errors_of(refused) == [("scopes", "give new scopes, a new mode, or both")]
    assert grant.version == 1
    with pytest.raises(ValidationFailed) as refused:
        grant.change(by_user_id="admin", now=LATER, scopes=[])
    assert errors_of(refused) == [("scopes", "give at least one scope")]
    with pytest.raises(ValidationFailed) as refused:
        grant.change(by_user_id="admin", now=LATER, mode="never")
    assert [e.field for e in refused.value.errors] == ["mode"]


def test_an_approved_request_widens_the_grant() -> None:
    grant, _ = create()
    version = grant.add_scopes(
        [Scope.ISSUE_COMMENT, Scope.ISSUE_READ], by_user_id="owner-x", now=LATER, note="ok"
    )
    assert version == GrantVersion(
        grant_id="g1",
        agent_id="a1",
        version=2,
        workspace_slug="demo",
        project_id=PROJECT,
        scopes=frozenset({Scope.ISSUE_READ, Scope.ISSUE_MOVE, Scope.ISSUE_COMMENT}),
        mode=GrantMode.REPORTING,
        status=GrantStatus.ACTIVE,
        change=GrantChange.ACCESS_APPROVED,
        changed_by_user_id="owner-x",
        changed_at=LATER,
        note="ok",
    )


def test_a_revoked_grant_is_a_last_version_and_changes_no_more() -> None:
    grant, _ = create()
    version = grant.revoke(by_user_id="admin", now=LATER)
    assert version == GrantVersion(
        grant_id="g1",
        agent_id="a1",
        version=2,
        workspace_slug="demo",
        project_id=PROJECT,
        scopes=frozenset({Scope.ISSUE_READ, Scope.ISSUE_MOVE}),
        mode=GrantMode.REPORTING,
        status=GrantStatus.REVOKED,
        change=GrantChange.REVOKED,
        changed_by_user_id="admin",
        changed_at=LATER,
        note=None,
    )
    assert (grant.status, grant.is_active, grant.updated_at) == (GrantStatus.REVOKED, False, LATER)
    refusal = [("grant", "the grant is revoked and cannot change")]
    with pytest.raises(ValidationFailed) as refused:
        grant.revoke(by_user_id="admin", now=LATER)
    assert errors_of(refused) == refusal
    with pytest.raises(ValidationFailed) as refused:
        grant.change(by_user_id="admin", now=LATER, mode="voluntary")
    assert errors_of(refused) == refusal
    assert grant.version == 2
