"""Work sessions and access requests: their rules, without any storage or transport."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nodedc_gateway.domain.access_requests import ACCESS_REQUEST_TTL, AccessRequest, RequestStatus
from nodedc_gateway.domain.errors import HumanOnlyOperation, ValidationFailed
from nodedc_gateway.domain.scopes import ALLOWED_SCOPES, DENIED_SCOPES, Scope
from nodedc_gateway.domain.work_sessions import SessionStatus, WorkSession
from tests.domain import strategies as s


def session() -> WorkSession:
    return WorkSession.start(
        session_id="s1",
        agent_id="a1",
        owner_user_id="o1",
        workspace_slug="demo",
        project_id=s.PROJECTS[0],
        issue_id="i1",
        issue_identifier="DEMO-1",
        summary="go",
        now=s.NOW,
    )


def test_a_session_reports_finishes_once_and_goes_stale_in_silence() -> None:
    work = session()
    assert not work.is_stale(s.NOW + timedelta(hours=1))
    assert work.is_stale(s.NOW + timedelta(hours=1, seconds=1))
    work.report(s.NOW + timedelta(minutes=50))
    assert not work.is_stale(s.NOW + timedelta(minutes=100))
    assert work.is_stale(s.NOW + timedelta(minutes=61), timedelta(minutes=10))  # threshold
    work.finish("done", "shipped", s.NOW + timedelta(hours=2))
    assert work.status is SessionStatus.FINISHED
    assert not work.is_stale(s.NOW + timedelta(days=9))
    with pytest.raises(ValidationFailed):
        work.finish("done", "again", s.NOW + timedelta(hours=3))
    with pytest.raises(ValidationFailed):
        work.report(s.NOW + timedelta(hours=3))


def test_an_outcome_outside_the_three_is_refused() -> None:
    with pytest.raises(ValidationFailed) as raised:
        session().finish("won", "x", s.NOW)
    assert raised.value.errors[0].field == "outcome"


def request(scopes: list[str]) -> AccessRequest:
    return AccessRequest.file(
        request_id="r1",
        agent_id="a1",
        owner_user_id="o1",
        workspace_slug="demo",
        project_ref="",
        scopes=scopes,
        justification="needed",
        now=s.NOW,
    )


@given(
    st.frozensets(st.sampled_from(sorted(DENIED_SCOPES)), min_size=1),
    st.frozensets(st.sampled_from(sorted(ALLOWED_SCOPES))),
)
def test_human_only_scopes_can_be_neither_requested_nor_approved(
    denied: frozenset[Scope], allowed: frozenset[Scope]
) -> None:
    with pytest.raises(HumanOnlyOperation):
        request(sorted(denied | allowed))
    pending = request(sorted(allowed | {Scope.ISSUE_READ}))
    with pytest.raises(HumanOnlyOperation):
        pending.approve(by_user_id="admin", now=s.NOW, scopes=sorted(denied))
    assert pending.status is RequestStatus.PENDING


@given(st.frozensets(st.sampled_from(sorted(ALLOWED_SCOPES)), min_size=1), st.data())
def test_an_approval_only_narrows(requested: frozenset[Scope], data: st.DataObject) -> None:
    chosen = data.draw(st.frozensets(st.sampled_from(sorted(ALLOWED_SCOPES)), min_size=1))
    pending = request(sorted(requested))
    if chosen <= requested:
        assert pending.approve(by_user_id="admin", now=s.NOW, scopes=sorted(chosen)) == chosen
        assert pending.status is RequestStatus.APPROVED
    else:
        with pytest.raises(ValidationFailed):
            pending.approve(by_user_id="admin", now=s.NOW, scopes=sorted(chosen))
        assert pending.status is RequestStatus.PENDING


def test_a_denial_needs_a_reason_and_decisions_happen_once() -> None:
    pending = request(["issue:label"])
    with pytest.raises(ValidationFailed) as raised:
        pending.deny(by_user_id="admin", now=s.NOW, note=None)
    assert raised.value.errors[0].field == "note"
    pending.deny(by_user_id="admin", now=s.NOW, note="not now")
    assert pending.decision is not None
    assert pending.decision.note == "not now"
    with pytest.raises(ValidationFailed):
        pending.approve(by_user_id="admin", now=s.NOW)


def test_a_pending_request_expires_after_seven_days() -> None:
    pending = request(["issue:label"])
    assert (
        pending.status_at(s.NOW + ACCESS_REQUEST_TTL - timedelta(seconds=1))
        is RequestStatus.PENDING
    )
    assert pending.status_at(s.NOW + ACCESS_REQUEST_TTL) is RequestStatus.EXPIRED
    with pytest.raises(ValidationFailed):
        pending.approve(by_user_id="admin", now=s.NOW + ACCESS_REQUEST_TTL)
