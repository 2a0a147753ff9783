"""Agent tokens: format, checksum, expiry, revocation and the last-used throttle."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nodedc_gateway.domain.errors import ValidationFailed
from nodedc_gateway.domain.tokens import (
    BASE62_ALPHABET,
    MAX_TOKEN_NAME,
    TOKEN_LENGTH,
    TOKEN_PREFIX,
    TOKEN_RANDOM_LENGTH,
    AgentToken,
    TokenStatus,
    base62,
    is_well_formed_token,
    mint_token,
    token_checksum,
    token_expiry,
    token_name,
)
from tests.domain import strategies as s

random_parts = st.text(
    alphabet=BASE62_ALPHABET, min_size=TOKEN_RANDOM_LENGTH, max_size=TOKEN_RANDOM_LENGTH
)
printable = st.characters(min_codepoint=0x21, max_codepoint=0x7E)


@given(random_parts)
def test_minted_tokens_have_the_contract_format(random_part: str) -> None:
    token = mint_token(random_part).reveal()
    assert token.startswith(TOKEN_PREFIX)
    assert len(token) == TOKEN_LENGTH == 47
    assert set(token[len(TOKEN_PREFIX) :]) <= set(BASE62_ALPHABET)
    assert is_well_formed_token(token)


@given(random_parts, st.data())
def test_any_single_character_change_fails_the_checksum(
    random_part: str, data: st.DataObject
) -> None:
    token = mint_token(random_part).reveal()
    position = data.draw(st.integers(0, len(token) - 1))
    replacement = data.draw(printable.filter(lambda c: c != token[position]))
    changed = token[:position] + replacement + token[position + 1 :]
    assert not is_well_formed_token(changed)


@given(random_parts, st.data())
def test_a_dropped_or_added_character_fails(random_part: str, data: st.DataObject) -> None:
    token = mint_token(random_part).reveal()
    position = data.draw(st.integers(0, len(token) - 1))
    assert not is_well_formed_token(token[:position] + token[position + 1 :])
    extra = data.draw(printable)
    assert not is_well_formed_token(token[:position] + extra + token[position:])


@given(st.integers(0, 62**6 - 1))
def test_base62_is_exact_and_fixed_width(number: int) -> None:
    encoded = base62(number, 6)
    assert len(encoded) == 6
    assert sum(BASE62_ALPHABET.index(c) * 62**i for i, c in enumerate(reversed(encoded))) == number


def test_a_random_part_of_the_wrong_shape_is_refused() -> None:
    with pytest.raises(ValueError, match="36 base62"):
        mint_token("short")
    with pytest.raises(ValueError, match="36 base62"):
        mint_token("-" * TOKEN_RANDOM_LENGTH)


@pytest.mark.parametrize("days", [1, 90, 366])
def test_expiry_within_a_year_and_a_day_is_accepted(days: int) -> None:
    assert token_expiry(s.NOW, days) == s.NOW + timedelta(days=days)


@pytest.mark.parametrize("days", [0, -1, 367, 10_000, True, "90", 1.5, None])
def test_expiry_outside_the_bounds_is_refused(days: object) -> None:
    with pytest.raises(ValidationFailed) as raised:
        token_expiry(s.NOW, days)
    assert raised.value.errors[0].field == "expires_in_days"


def test_tokens_expire_and_revoke() -> None:
    token = s.token()
    assert token.is_usable(s.NOW)
    assert token.status_at(token.expires_at) is TokenStatus.EXPIRED
    assert not token.is_usable(token.expires_at)
    token.revoke()
    assert token.status_at(s.NOW) is TokenStatus.REVOKED
    assert not token.is_usable(s.NOW)


@given(st.lists(st.integers(0, 600), max_size=40))
def test_last_used_is_written_at_most_once_a_minute(gaps: list[int]) -> None:
    token = s.token()
    now, written = s.NOW, []
    for gap in gaps:
        now += timedelta(seconds=gap)
        if token.record_use(now):
            written.append(now)
        assert token.last_used_at is not None
        assert now - token.last_used_at < timedelta(minutes=1) or token.last_used_at == now
    for earlier, later in itertools.pairwise(written):
        assert later - earlier >= timedelta(minutes=1)


@pytest.mark.parametrize("intruder", ["_", "-", "+", "é", " "])
def test_a_token_outside_base62_is_not_well_formed_even_with_its_checksum(intruder: str) -> None:
    """Guards the alphabet check in `is_well_formed_token` (tokens.py:57): the checksum
    alone would pass an ASCII intruder whose CRC is recomputed, and crash on a non-ASCII
    one."""
    random_part = "A" * (TOKEN_RANDOM_LENGTH - 1) + intruder
    checksum = token_checksum(random_part) if intruder.isascii() else "000000"
    assert not is_well_formed_token(TOKEN_PREFIX + random_part + checksum)


def test_a_revoked_token_reads_revoked_after_its_expiry_too() -> None:
    """Guards `self.status is TokenStatus.ACTIVE` in `status_at` (tokens.py:122): only an
    active token turns expired; a revoked one stays revoked (as listed to its owner)."""
    token = s.token()
    token.revoke()
    assert token.status_at(token.expires_at + timedelta(days=1)) is TokenStatus.REVOKED


# The exact edges of tokens.py (docs/mutation.md: these pin what its mutants changed).


def test_a_wrong_random_part_says_what_it_must_be() -> None:
    with pytest.raises(ValueError, match=r"^a token's random part is 36 base62 characters$"):
        mint_token("short")


def test_a_refused_expiry_says_the_bounds() -> None:
    with pytest.raises(ValidationFailed) as raised:
        token_expiry(s.NOW, 0)
    assert [(e.field, e.message) for e in raised.value.errors] == [
        ("expires_in_days", "must be a whole number of days from 1 to 366")
    ]


def test_a_token_name_is_trimmed_text_of_at_most_100_characters() -> None:
    assert token_name("  laptop  ") == "laptop"
    assert token_name("n" * MAX_TOKEN_NAME) == "n" * MAX_TOKEN_NAME
    for bad, message in [
        ("n" * (MAX_TOKEN_NAME + 1), "must have at most 100 characters"),
        (None, "must be a string"),
        ("   ", "must have at least 1 character(s)"),
    ]:
        with pytest.raises(ValidationFailed) as raised:
            token_name(bad)
        assert [(e.field, e.message) for e in raised.value.errors] == [("name", message)]


def test_an_issued_token_holds_what_it_was_given() -> None:
    expires = s.NOW + timedelta(days=90)
    token = AgentToken.issue(
        token_id="t1", agent_id="a1", name=" ci ", token_hash="h", expires_at=expires, now=s.NOW
    )
    assert token == AgentToken(
        id="t1",
        agent_id="a1",
        name="ci",
        token_hash="h",
        status=TokenStatus.ACTIVE,
        expires_at=expires,
        last_used_at=None,
        created_at=s.NOW,
    )
    with pytest.raises(ValidationFailed):
        AgentToken.issue(
            token_id="t1", agent_id="a1", name=7, token_hash="h", expires_at=expires, now=s.NOW
        )


def test_the_first_use_and_a_use_a_minute_later_are_written() -> None:
    token = s.token()
    assert token.record_use(s.NOW) is True
    assert token.record_use(s.NOW + timedelta(seconds=59)) is False
    assert token.last_used_at == s.NOW
    assert token.record_use(s.NOW + timedelta(minutes=1)) is True
    assert token.last_used_at == s.NOW + timedelta(minutes=1)
