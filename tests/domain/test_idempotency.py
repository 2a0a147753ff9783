"""Idempotency policy (CONTRACT §7): fingerprints and the verdict on a stored record."""

from __future__ import annotations

import hashlib
import random
from datetime import timedelta

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nodedc_gateway.domain.errors import ValidationFailed
from nodedc_gateway.domain.idempotency import (
    IDEMPOTENCY_TTL,
    IN_FLIGHT_LEASE,
    MAX_KEY_LENGTH,
    IdempotencyRecord,
    RecordStatus,
    StoredResponse,
    Verdict,
    agent_scope,
    external_id,
    idempotency_key,
    judge,
    owner_scope,
    request_fingerprint,
)
from tests.domain import strategies as s

json_leaves = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=10))
json_values = st.recursive(
    json_leaves,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=10,
)
arguments = st.dictionaries(st.text(min_size=1, max_size=8), json_values, max_size=5)


def record(fingerprint: str = "f") -> IdempotencyRecord:
    return IdempotencyRecord.claim(
        scope="agent:a", key="k", fingerprint=fingerprint, operation="create_issue", now=s.NOW
    )


#: 500 examples (fewer under a profile that asks for fewer than 200, like `mutation`).
many_examples = settings(max_examples=min(500, int(2.5 * settings.default.max_examples)))


@many_examples
@given(arguments, st.randoms())
def test_the_fingerprint_ignores_key_order(args: dict[str, object], rnd: random.Random) -> None:
    items = list(args.items())
    rnd.shuffle(items)
    assert request_fingerprint("op", dict(items)) == request_fingerprint("op", args)


@many_examples
@given(arguments, arguments)
def test_different_requests_have_different_fingerprints(
    a: dict[str, object], b: dict[str, object]
) -> None:
    if a != b:
        assert request_fingerprint("op", a) != request_fingerprint("op", b)
    assert request_fingerprint("op", a) != request_fingerprint("other_op", a)


@given(st.integers(0, 24 * 3600 - 1))
def test_same_key_and_fingerprint_replay_a_completed_request(seconds: int) -> None:
    done = record().completed(StoredResponse(True, {"issue": {"id": "x"}}))
    assert judge(done, "f", s.NOW + timedelta(seconds=seconds)) is Verdict.REPLAY


@given(st.booleans(), st.integers(0, 24 * 3600 - 1))
def test_another_fingerprint_is_key_reuse(completed: bool, seconds: int) -> None:
    stored = record().completed(StoredResponse(True, {})) if completed else record()
    assert judge(stored, "other", s.NOW + timedelta(seconds=seconds)) is Verdict.REUSED


@given(st.integers(0, int(IN_FLIGHT_LEASE.total_seconds()) - 1))
def test_a_running_request_is_in_flight(seconds: int) -> None:
    assert judge(record(), "f", s.NOW + timedelta(seconds=seconds)) is Verdict.IN_FLIGHT


@given(st.integers(int(IN_FLIGHT_LEASE.total_seconds()), 24 * 3600 - 1))
def test_an_abandoned_claim_can_be_taken_over(seconds: int) -> None:
    assert judge(record(), "f", s.NOW + timedelta(seconds=seconds)) is Verdict.PROCEED


@given(st.booleans(), st.sampled_from(["f", "other"]), st.integers(0, 3600))
def test_expired_keys_start_fresh(completed: bool, fingerprint: str, extra: int) -> None:
    stored = record().completed(StoredResponse(True, {})) if completed else record()
    later = s.NOW + IDEMPOTENCY_TTL + timedelta(seconds=extra)
    assert judge(stored, fingerprint, later) is Verdict.PROCEED


def test_no_record_proceeds() -> None:
    assert judge(None, "f", s.NOW) is Verdict.PROCEED


@given(st.text(min_size=1, max_size=255), st.text(min_size=1, max_size=255))
def test_external_ids_are_deterministic_and_scoped(key: str, other: str) -> None:
    assert external_id("agent:a", key) == external_id("agent:a", key)
    assert external_id("agent:a", key) != external_id("agent:b", key)
    if key != other:
        assert external_id("agent:a", key) != external_id("agent:a", other)
    assert key not in external_id("agent:a", key) or len(key) < 4


@given(st.text(min_size=1, max_size=40))
def test_owner_and_agent_keys_live_apart(same_id: str) -> None:
    """Guards the `owner:` prefix of `owner_scope` (idempotency.py:41): an owner and an
    agent that happened to share an id would otherwise share their keys."""
    assert owner_scope(same_id) != agent_scope(same_id)
    assert external_id(owner_scope(same_id), "k") != external_id(agent_scope(same_id), "k")


# The exact edges of idempotency.py (docs/mutation.md: these pin what its mutants changed).


def test_the_scopes_of_keys_are_spelled_out() -> None:
    assert agent_scope("a1") == "agent:a1"
    assert owner_scope("u1") == "owner:u1"


def test_an_external_id_is_the_hash_of_scope_and_key() -> None:
    digest = hashlib.sha256(b"agent:a1\x00key-1").hexdigest()
    assert external_id("agent:a1", "key-1") == "ndc-" + digest[:40]


def test_a_fingerprint_is_the_hash_of_the_canonical_request() -> None:
    text = '{"arguments":{"a":1,"b":[true,null]},"operation":"op"}'
    expected = hashlib.sha256(text.encode()).hexdigest()
    assert request_fingerprint("op", {"b": [True, None], "a": 1}) == expected


def test_a_key_is_trimmed_text_of_at_most_255_characters() -> None:
    assert idempotency_key("  k-1 ") == "k-1"
    assert idempotency_key("k" * MAX_KEY_LENGTH) == "k" * MAX_KEY_LENGTH
    for bad, field, message in [
        ("k" * (MAX_KEY_LENGTH + 1), "idempotency_key", "must have at most 255 characters"),
        (None, "idempotency_key", "must be a string"),
        ("", "idempotency_key", "must have at least 1 character(s)"),
    ]:
        with pytest.raises(ValidationFailed) as raised:
            idempotency_key(bad)
        assert [(e.field, e.message) for e in raised.value.errors] == [(field, message)]
    with pytest.raises(ValidationFailed) as raised:
        idempotency_key(3, field="headers.Idempotency-Key")
    assert [e.field for e in raised.value.errors] == ["headers.Idempotency-Key"]


def test_a_claim_holds_the_key_in_flight_for_a_lease() -> None:
    claimed = record()
    assert claimed == IdempotencyRecord(
        scope="agent:a",
        key="k",
        fingerprint="f",
        operation="create_issue",
        status=RecordStatus.IN_FLIGHT,
        response=None,
        created_at=s.NOW,
        expires_at=s.NOW + timedelta(hours=24),
        locked_until=s.NOW + timedelta(seconds=60),
    )
    response = StoredResponse(ok=False, body={"error": {"code": "not_found"}})
    done = claimed.completed(response)
    assert (done.status, done.response, done.locked_until) == (
        RecordStatus.COMPLETED,
        response,
        None,
    )
    assert (done.created_at, done.expires_at) == (claimed.created_at, claimed.expires_at)


def test_expiry_and_abandonment_start_at_their_instant() -> None:
    claimed = record()
    tick = timedelta(microseconds=1)
    assert not claimed.is_expired(claimed.expires_at - tick)
    assert claimed.is_expired(claimed.expires_at)
    assert claimed.locked_until is not None
    assert not claimed.is_abandoned(claimed.locked_until - tick)
    assert claimed.is_abandoned(claimed.locked_until)
    done = claimed.completed(StoredResponse(True, {}))
    assert not done.is_abandoned(claimed.locked_until + IDEMPOTENCY_TTL)
    unlocked = attrs.evolve(claimed, locked_until=None)
    assert not unlocked.is_abandoned(claimed.expires_at)
    assert judge(unlocked, "f", claimed.expires_at - tick) is Verdict.IN_FLIGHT
