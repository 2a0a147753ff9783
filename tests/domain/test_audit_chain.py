"""The per-agent audit hash chain detects any edited, removed or reordered event."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from typing import Any

import attrs
from hypothesis import given, settings
from hypothesis import strategies as st

from nodedc_gateway.domain.audit import (
    GENESIS_HASH,
    SYSTEM_CHAIN,
    AuditDecision,
    AuditDraft,
    AuditEvent,
    ChainCheck,
    ChainHead,
    ChainVerifier,
    hashed_body,
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


# The exact form of the chain and of its verdicts (docs/mutation.md: these pin what the
# mutants of audit.py changed). Stored hashes must stay verifiable by later versions, so
# the hashed body is spelled out here key by key, not recomputed with the module's helpers.

FULL = AuditDraft(
    id="ev-1",
    agent_id=AGENT,
    owner_user_id="owner-x",
    actor_user_id="owner-y",
    event_type="tool_call",
    operation="create_issue",
    decision=AuditDecision.DENY,
    reason=ErrorCode.NOT_GRANTED,
    target={"workspace_slug": "demo", "project": "p"},
    grant_versions=(GrantRef("g1", 3), GrantRef("g2", 1)),
    metadata={"note": "é", "n": 2},
    created_at=s.NOW,
)
SYSTEM = attrs.evolve(
    FULL,
    id="ev-2",
    agent_id=None,
    actor_user_id=None,
    decision=AuditDecision.ALLOW,
    reason=None,
    grant_versions=(),
    metadata={},
)


def expected_hash(prev_hash: str, body: dict[str, Any]) -> str:
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256((prev_hash + text).encode("utf-8")).hexdigest()


def test_the_first_event_hashes_its_whole_body_after_the_genesis_hash() -> None:
    body = {
        "id": "ev-1",
        "chain_id": AGENT,
        "seq": 1,
        "agent_id": AGENT,
        "owner_user_id": "owner-x",
        "actor_user_id": "owner-y",
        "event_type": "tool_call",
        "operation": "create_issue",
        "decision": "deny",
        "reason": "not_granted",
        "target": {"workspace_slug": "demo", "project": "p"},
        "grant_versions": [{"grant_id": "g1", "version": 3}, {"grant_id": "g2", "version": 1}],
        "metadata": {"note": "é", "n": 2},
        "created_at": "2026-11-22T12:00:00.000000Z",
    }
    assert hashed_body(FULL, AGENT, 1) == body
    event, head = link(None, FULL)
    assert GENESIS_HASH == "0" * 64
    assert (event.chain_id, event.seq, event.prev_hash) == (AGENT, 1, "0" * 64)
    assert event.hash == expected_hash("0" * 64, body)
    assert head == ChainHead(chain_id=AGENT, seq=1, last_hash=event.hash)
    assert (event.id, event.agent_id, event.created_at) == ("ev-1", AGENT, s.NOW)


def test_the_next_event_links_to_the_head() -> None:
    first, head = link(None, FULL)
    second, new_head = link(head, attrs.evolve(FULL, id="ev-3"))
    assert (second.seq, second.prev_hash) == (2, first.hash)
    body = hashed_body(attrs.evolve(FULL, id="ev-3"), AGENT, 2)
    assert (body["id"], body["seq"]) == ("ev-3", 2)
    assert second.hash == expected_hash(first.hash, body)
    assert new_head == ChainHead(AGENT, 2, second.hash)


def test_an_event_of_no_agent_goes_to_the_system_chain() -> None:
    event, head = link(None, SYSTEM)
    assert SYSTEM.chain_id == SYSTEM_CHAIN == "system"
    assert (event.chain_id, head.chain_id, event.agent_id) == ("system", "system", None)
    body = hashed_body(SYSTEM, "system", 1)
    assert (body["agent_id"], body["actor_user_id"], body["reason"]) == (None, None, None)
    assert (body["decision"], body["grant_versions"], body["metadata"]) == ("allow", [], {})
    assert event.hash == expected_hash("0" * 64, body)
    assert verify_chain("system", [event], head) == ChainCheck("system", True, 1)


def five() -> tuple[list[AuditEvent], ChainHead]:
    events, head = chain([attrs.evolve(FULL, id=f"ev-{n}") for n in range(5)])
    assert head is not None
    return events, head


def test_a_sound_chain_reads_ok_with_its_length() -> None:
    events, head = five()
    assert verify_chain(AGENT, events, head) == ChainCheck(AGENT, True, 5, None, None)
    assert verify_chain(AGENT, events) == ChainCheck(AGENT, True, 5)
    assert verify_chain(AGENT, []) == ChainCheck(AGENT, True, 0)


def test_each_break_is_named_with_where_it_is() -> None:
    events, head = five()
    missing = events[:2] + events[3:]
    assert verify_chain(AGENT, missing, head) == ChainCheck(
        AGENT, False, 2, "missing or reordered event", 3
    )
    elsewhere = [*events[:1], attrs.evolve(events[1], chain_id="other"), *events[2:]]
    assert verify_chain(AGENT, elsewhere, head) == ChainCheck(
        AGENT, False, 1, "missing or reordered event", 2
    )
    relinked = [*events[:3], attrs.evolve(events[3], prev_hash="f" * 64), events[4]]
    assert verify_chain(AGENT, relinked, head) == ChainCheck(AGENT, False, 3, "broken link", 4)
    edited = attrs.evolve(events[2], draft=attrs.evolve(events[2].draft, operation="x"))
    assert verify_chain(AGENT, [*events[:2], edited, *events[3:]], head) == ChainCheck(
        AGENT, False, 2, "edited event", 3
    )


def test_a_head_that_disagrees_with_the_end_of_the_chain_is_a_truncation() -> None:
    events, head = five()
    truncated = ChainCheck(AGENT, False, 4, "chain shorter than its head (events removed)", 5)
    assert verify_chain(AGENT, events[:4], head) == truncated
    longer = ChainHead(AGENT, 6, head.last_hash)
    assert not verify_chain(AGENT, events, longer).ok
    other_hash = ChainHead(AGENT, 5, events[3].hash)
    assert verify_chain(AGENT, events, other_hash) == ChainCheck(
        AGENT, False, 5, "chain shorter than its head (events removed)", 6
    )


def test_a_verifier_takes_the_chain_in_batches_and_stops_at_the_first_break() -> None:
    events, head = five()
    verifier = ChainVerifier(AGENT)
    assert verifier.feed(events[:2]) is True
    assert verifier.feed([]) is True
    assert verifier.feed(events[2:]) is True
    assert verifier.finish(head) == ChainCheck(AGENT, True, 5)

    broken = ChainVerifier(AGENT)
    assert broken.feed([events[0], events[2]]) is False
    assert broken.feed(events[1:]) is False
    assert broken.feed([]) is False
    assert broken.finish(head) == ChainCheck(AGENT, False, 1, "missing or reordered event", 2)
