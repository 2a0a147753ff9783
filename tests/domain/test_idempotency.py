"""Idempotency policy (CONTRACT §7): fingerprints and the verdict on a stored record."""

from __future__ import annotations

import random
from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from nodedc_gateway.domain.idempotency import (
    IDEMPOTENCY_TTL,
    IN_FLIGHT_LEASE,
    IdempotencyRecord,
    StoredResponse,
    Verdict,
    external_id,
    judge,
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
