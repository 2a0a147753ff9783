"""The Tasker port's contract suite (tests/contracts/test_tasker_contract.py), run against
the real Plane API server: the same tests the stand-in passes, on what Plane really does."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from nodedc_gateway.domain.errors import NotFound, ValidationFailed
from tests.contracts.tasker_backends import TaskerUnderTest
from tests.contracts.test_tasker_contract import (
    ACTOR,
    test_a_keyed_create_is_made_once,
    test_a_parent_must_be_in_the_project_and_not_a_descendant,
    test_a_project_of_another_workspace_is_not_found,
    test_a_search_cursor_that_was_never_given_is_refused,
    test_access_to_an_unknown_workspace_is_simply_no,
    test_an_issue_is_created_with_every_field,
    test_an_issue_key_means_nothing_in_another_workspace,
    test_comment_lists_are_newest_first_and_limited,
    test_comments_are_added_once_per_key_and_listed_newest_first,
    test_created_issues_get_sequential_keys_and_defaults,
    test_dates_in_the_wrong_order_are_refused,
    test_issues_are_found_by_key_and_by_id_only_where_they_are,
    test_project_details_carry_states_labels_and_members,
    test_projects_are_listed_and_found_by_id_or_identifier,
    test_references_outside_the_project_are_refused,
    test_search_filters_and_pages_through_results,
    test_search_text_folds_case_beyond_ascii_and_matches_keys,
    test_updates_change_only_what_they_name,
    test_workspace_members_policy_and_access,
)
from tests.reliability.real_plane import RealPlane, plane, real_plane_backend

pytestmark = pytest.mark.reliability

__all__ = [
    "plane",
    "test_a_keyed_create_is_made_once",
    "test_a_parent_must_be_in_the_project_and_not_a_descendant",
    "test_a_project_of_another_workspace_is_not_found",
    "test_a_search_cursor_that_was_never_given_is_refused",
    "test_access_to_an_unknown_workspace_is_simply_no",
    "test_an_issue_is_created_with_every_field",
    "test_an_issue_key_means_nothing_in_another_workspace",
    "test_comment_lists_are_newest_first_and_limited",
    "test_comments_are_added_once_per_key_and_listed_newest_first",
    "test_created_issues_get_sequential_keys_and_defaults",
    "test_dates_in_the_wrong_order_are_refused",
    "test_issues_are_found_by_key_and_by_id_only_where_they_are",
    "test_project_details_carry_states_labels_and_members",
    "test_projects_are_listed_and_found_by_id_or_identifier",
    "test_references_outside_the_project_are_refused",
    "test_search_filters_and_pages_through_results",
    "test_search_text_folds_case_beyond_ascii_and_matches_keys",
    "test_updates_change_only_what_they_name",
    "test_workspace_members_policy_and_access",
]


@pytest.fixture
async def tasker(plane: RealPlane) -> AsyncIterator[TaskerUnderTest]:
    async with real_plane_backend(plane) as backend:
        yield backend


async def test_only_existing_non_guest_workspace_members_join_a_project(
    tasker: TaskerUnderTest,
) -> None:
    # The contract's own version adds carol; on this Plane the only workspace member
    # outside the project is a guest (gus), whom agents may not add.
    port, project_id = tasker.port, tasker.demo.project.id
    already = await port.add_project_member(
        tasker.ws, project_id, tasker.demo.alice.id, actor=ACTOR
    )
    assert already.email == tasker.demo.alice.email
    with pytest.raises(ValidationFailed):
        await port.add_project_member(tasker.ws, project_id, tasker.demo.carol.id, actor=ACTOR)
    with pytest.raises(NotFound):
        await port.add_project_member(
            tasker.ws, project_id, "01900000-0000-7000-8000-00000000f00d", actor=ACTOR
        )
