"""Scopes as stored (a JSON list) back to the domain's: every known scope named, anything
else (an unknown or retired name, a non-string) dropped, so a stored grant never widens."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nodedc_gateway.adapters.persistence.sql.mapping import scopes_from_json, scopes_to_json
from nodedc_gateway.domain.scopes import Scope

_STORED = st.lists(
    st.one_of(
        st.sampled_from([scope.value for scope in Scope]),
        st.text(max_size=20),
        st.integers(),
        st.none(),
        st.lists(st.text(max_size=3), max_size=2),
    ),
    max_size=20,
)


@given(_STORED)
def test_known_scopes_are_read_and_anything_else_is_dropped(stored: list[Any]) -> None:
    known = {scope.value for scope in Scope}
    expected = {s for s in stored if isinstance(s, str) and s in known}
    scopes = scopes_from_json(stored)
    assert {scope.value for scope in scopes} == expected
    assert all(isinstance(scope, Scope) for scope in scopes)


@given(st.frozensets(st.sampled_from(list(Scope))))
def test_scopes_survive_being_stored(scopes: frozenset[Scope]) -> None:
    assert scopes_from_json(scopes_to_json(scopes)) == scopes


def test_a_stored_value_that_is_not_a_list_is_refused() -> None:
    with pytest.raises(TypeError):
        scopes_from_json({"scopes": "issues:write"})
