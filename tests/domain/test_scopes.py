"""Scopes (CONTRACT §2): parsing what is asked for, and what stored scopes are worth.

Written to kill the mutants `make mutation` found alive (docs/mutation.md): each assertion
pins an observable edge of scopes.py — the exact error field and text, the size limit's
boundary, every unknown entry named, and the allowed/denied split.
"""

from __future__ import annotations

import pytest

from nodedc_gateway.domain.errors import HumanOnlyOperation, ValidationFailed
from nodedc_gateway.domain.scopes import (
    ALLOWED_SCOPES,
    DENIED_SCOPES,
    MAX_SCOPES_PER_REQUEST,
    Scope,
    effective_scopes,
    is_denied,
    parse_grantable_scopes,
    parse_scopes,
)

ALLOWED_LIST = ", ".join(sorted(ALLOWED_SCOPES))


def errors_of(refused: pytest.ExceptionInfo[ValidationFailed]) -> list[tuple[str, str]]:
    return [(e.field, e.message) for e in refused.value.errors]


def test_denied_and_allowed_scopes_are_told_apart() -> None:
    assert all(is_denied(scope) for scope in DENIED_SCOPES)
    assert not any(is_denied(scope) for scope in ALLOWED_SCOPES)
    assert not is_denied("no:such")


def test_effective_scopes_keep_the_allowed_ones_only() -> None:
    stored = ["issue:read", "issue:delete", "no:such", "raw_tasker_api", "issue:move"]
    assert effective_scopes(stored) == {Scope.ISSUE_READ, Scope.ISSUE_MOVE}
    assert effective_scopes(sorted(ALLOWED_SCOPES)) == ALLOWED_SCOPES
    assert effective_scopes(sorted(DENIED_SCOPES)) == frozenset()


def test_the_scope_list_limit_is_inclusive() -> None:
    assert parse_scopes(["issue:read"] * MAX_SCOPES_PER_REQUEST) == {Scope.ISSUE_READ}
    with pytest.raises(ValidationFailed) as refused:
        parse_scopes(["issue:read"] * (MAX_SCOPES_PER_REQUEST + 1), field="requested")
    assert errors_of(refused) == [("requested", f"at most {MAX_SCOPES_PER_REQUEST} scopes")]


def test_every_unknown_scope_is_named_with_the_allowed_ones() -> None:
    with pytest.raises(ValidationFailed) as refused:
        parse_scopes(["nope", "issue:read", 7, "issue:delete", "also:nope"])
    assert errors_of(refused) == [
        ("scopes[0]", f"unknown scope 'nope'; allowed scopes: {ALLOWED_LIST}"),
        ("scopes[2]", f"unknown scope 7; allowed scopes: {ALLOWED_LIST}"),
        ("scopes[4]", f"unknown scope 'also:nope'; allowed scopes: {ALLOWED_LIST}"),
    ]


def test_a_grant_needs_at_least_one_scope() -> None:
    with pytest.raises(ValidationFailed) as refused:
        parse_grantable_scopes([])
    assert errors_of(refused) == [("scopes", "give at least one scope")]
    with pytest.raises(ValidationFailed) as refused:
        parse_grantable_scopes([], field="grant.scopes")
    assert errors_of(refused) == [("grant.scopes", "give at least one scope")]


def test_a_grant_names_its_field_for_unknown_scopes() -> None:
    with pytest.raises(ValidationFailed) as refused:
        parse_grantable_scopes(["issue:read", "nope"], field="grant.scopes")
    assert errors_of(refused) == [
        ("grant.scopes[1]", f"unknown scope 'nope'; allowed scopes: {ALLOWED_LIST}")
    ]
    with pytest.raises(ValidationFailed) as refused:
        parse_grantable_scopes(["nope"])
    assert [e.field for e in refused.value.errors] == ["scopes[0]"]


def test_a_grant_refuses_human_only_scopes_and_keeps_the_rest() -> None:
    with pytest.raises(HumanOnlyOperation):
        parse_grantable_scopes(["issue:read", "issue:delete"])
    assert parse_grantable_scopes(["issue:read", "issue:read", "issue:move"]) == {
        Scope.ISSUE_READ,
        Scope.ISSUE_MOVE,
    }
