"""The per-agent audit hash chain detects any edited, removed or reordered event."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import attrs
from hypothesis import given, settings
from hypothesis import strategies as st

from nodedc_gateway.domain.audit import (
    AuditDecision,
    AuditDraft,
    AuditEvent,
    ChainHead,
    link,
    verify_chain,
)
from nodedc_gateway.domain.errors import ErrorCode
from nodedc_gateway.domain.grants import GrantRef
from tests.domain import strategies as s

AGENT = s.AGENT_IDS[0]
#: Each example links and hashes a whole chain; 400 explore the edits well enough (fewer under
#: a profile that asks for fewer than 200, like `mutation`).
chain_examples = settings(max_examples=min(400, 2 * settings.default.max_examples))

drafts = st.builds(
    AuditDraft,
    id=st.uuids().map(str),
    agent_id=st.just(AGENT),
    owner_user_id=st.sampled_from(s.OWNERS),
    actor_user_id=st.none() | st.sampled_from(s.OWNERS),
    event_type=st.sampled_from(["tool_call", "grant.created", "token.issued"]),
    operation=st.sampled_from(["create_issue", "get_issue", "create_grant"]),
    decision=st.sampled_from(list(AuditDecision)),
    reason=st.none() | st.sampled_from(list(ErrorCode)),
    target=st.fixed_dictionaries({"workspace_slug": st.sampled_from(s.WORKSPACES)}),
    grant_versions=st.lists(
        st.builds(GrantRef, st.sampled_from(["g1", "g2"]), st.integers(1, 9)), max_size=2
    ).map(tuple),
    metadata=st.dictionaries(
        st.sampled_from(["issue_id", "note", "n"]), st.text(max_size=8) | st.integers(), max_size=2
    ),
    created_at=st.integers(0, 10**9).map(lambda us: s.NOW + timedelta(microseconds=us)),
)


def chain(items: list[AuditDraft]) -> tuple[list[AuditEvent], ChainHead | None]:
    head, events = None, []
    for draft in items:
        event, head = link(head, draft)
        events.append(event)
    return events, head


@chain_examples
@given(st.lists(drafts, max_size=12))
def test_an_untouched_chain_verifies(items: list[AuditDraft]) -> None:
    events, head = chain(items)
    check = verify_chain(AGENT, events, head)
    assert check.ok
    assert check.events == len(items)


EDITS: dict[str, Any] = {
    "operation": "delete_issue",
    "decision": AuditDecision.ALLOW,
    "reason": ErrorCode.NOT_GRANTED,
    "metadata": {"tampered": True},
    "target": {"workspace_slug": "elsewhere"},
    "owner_user_id": "someone-else",
    "created_at": s.NOW - timedelta(days=1),
    "grant_versions": (GrantRef("g9", 9),),
}


@chain_examples
@given(st.lists(drafts, min_size=1, max_size=12), st.data())
def test_an_edited_event_is_detected(items: list[AuditDraft], data: st.DataObject) -> None:
    events, head = chain(items)
    index = data.draw(st.integers(0, len(events) - 1))
    field = data.draw(st.sampled_from(sorted(EDITS)))
    draft = events[index].draft
    if getattr(draft, field) == EDITS[field]:
        return
    events[index] = attrs.evolve(events[index], draft=attrs.evolve(draft, **{field: EDITS[field]}))
    assert not verify_chain(AGENT, events, head).ok


@chain_examples
@given(st.lists(drafts, min_size=1, max_size=12), st.data())
def test_a_recomputed_hash_does_not_hide_an_edit(
    items: list[AuditDraft], data: st.DataObject
) -> None:
    """Editing an event and fixing its own hash still breaks the next link or the head."""
    events, head = chain(items)
    index = data.draw(st.integers(0, len(events) - 1))
    previous = events[index - 1] if index else None
    prev_head = ChainHead(AGENT, previous.seq, previous.hash) if previous else None
    forged, _ = link(prev_head, attrs.evolve(events[index].draft, metadata={"forged": 1}))
    events[index] = forged
    assert not verify_chain(AGENT, events, head).ok


@chain_examples
@given(st.lists(drafts, min_size=1, max_size=12), st.data())
def test_a_removed_event_is_detected(items: list[AuditDraft], data: st.DataObject) -> None:
    events, head = chain(items)
    index = data.draw(st.integers(0, len(events) - 1))
    del events[index]
    assert not verify_chain(AGENT, events, head).ok


@chain_examples
@given(st.lists(drafts, min_size=2, max_size=12), st.data())
def test_reordered_events_are_detected(items: list[AuditDraft], data: st.DataObject) -> None:
    events, head = chain(items)
    i = data.draw(st.integers(0, len(events) - 2))
    j = data.draw(st.integers(i + 1, len(events) - 1))
    events[i], events[j] = events[j], events[i]
    assert not verify_chain(AGENT, events, head).ok
