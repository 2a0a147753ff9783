"""Pairing codes: input normalization, display, single use and expiry."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nodedc_gateway.domain.errors import ValidationFailed
from nodedc_gateway.domain.pairing import (
    MAX_PAIRING_INPUT,
    PAIRING_ALPHABET,
    PAIRING_CODE_LENGTH,
    PairingCode,
    PairingCodeInvalid,
    PairingStatus,
    display_pairing_code,
    normalize_pairing_code,
)
from tests.domain import strategies as s

codes = st.text(
    alphabet=PAIRING_ALPHABET, min_size=PAIRING_CODE_LENGTH, max_size=PAIRING_CODE_LENGTH
)


@given(codes, st.data())
def test_case_dashes_and_spaces_do_not_matter(code: str, data: st.DataObject) -> None:
    typed = []
    for char in code:
        typed.append(data.draw(st.sampled_from(["", "-", " ", "--"])))
        typed.append(char.lower() if data.draw(st.booleans()) else char)
    typed.append(data.draw(st.sampled_from(["", "-", " "])))
    assert normalize_pairing_code("".join(typed)) == code


@given(codes)
def test_the_display_form_normalizes_back(code: str) -> None:
    shown = display_pairing_code(code)
    assert shown == f"{code[:4]}-{code[4:]}"
    assert normalize_pairing_code(shown) == code


@given(st.text(max_size=20))
def test_anything_else_is_a_validation_error_naming_the_field(raw: str) -> None:
    cleaned = raw.replace("-", "").replace(" ", "").replace("\t", "").upper()
    if len(cleaned) == PAIRING_CODE_LENGTH and set(cleaned) <= set(PAIRING_ALPHABET):
        assert normalize_pairing_code(raw) == cleaned
        return
    with pytest.raises(ValidationFailed) as raised:
        normalize_pairing_code(raw)
    assert raised.value.errors[0].field == "code"
    # The input is never echoed back: every refusal reads the same, whatever was typed.
    with pytest.raises(ValidationFailed) as reference:
        normalize_pairing_code("!")
    assert raised.value.message == reference.value.message


def _code() -> PairingCode:
    return PairingCode.issue(code_id="c1", agent_id="a1", code_hash="h", now=s.NOW)


def test_a_code_redeems_once() -> None:
    code = _code()
    code.redeem(s.NOW + timedelta(minutes=9))
    assert code.status is PairingStatus.USED
    with pytest.raises(PairingCodeInvalid):
        code.redeem(s.NOW + timedelta(minutes=9))


def test_a_code_expires_after_ten_minutes() -> None:
    code = _code()
    assert code.expires_at == s.NOW + timedelta(minutes=10)
    with pytest.raises(PairingCodeInvalid):
        code.redeem(s.NOW + timedelta(minutes=10))


def test_a_revoked_code_cannot_be_redeemed() -> None:
    code = _code()
    code.revoke()
    with pytest.raises(PairingCodeInvalid):
        code.redeem(s.NOW)


def test_revoking_a_used_code_keeps_it_used() -> None:
    """Guards `if self.status is PairingStatus.ACTIVE` in `revoke` (pairing.py:110): revoking
    an agent's codes never rewrites the history of one already redeemed."""
    code = _code()
    code.redeem(s.NOW)
    code.revoke()
    assert code.status is PairingStatus.USED
    assert code.used_at == s.NOW


# The exact refusals (docs/mutation.md: these pin what the mutants of pairing.py changed).
NOT_A_CODE = ("code", "must be the 8-letter pairing code, like WDJB-MJHT")
WRONG_LETTERS = (
    "code",
    f"a pairing code is 8 letters from {PAIRING_ALPHABET}, "
    "like WDJB-MJHT (case and dashes do not matter)",
)


def refusal(raw: object) -> list[tuple[str, str]]:
    with pytest.raises(ValidationFailed) as raised:
        normalize_pairing_code(raw)
    return [(e.field, e.message) for e in raised.value.errors]


@pytest.mark.parametrize("raw", [None, 12345678, b"WDJBMJHT", ["WDJBMJHT"]])
def test_input_that_is_not_text_is_refused_as_such(raw: object) -> None:
    assert refusal(raw) == [NOT_A_CODE]


def test_typed_input_may_be_64_characters_long_and_no_more() -> None:
    assert normalize_pairing_code("WDJB-MJHT".center(MAX_PAIRING_INPUT)) == "WDJBMJHT"
    assert refusal("WDJB-MJHT".center(MAX_PAIRING_INPUT + 1)) == [NOT_A_CODE]


@pytest.mark.parametrize("raw", ["WDJB-MJH", "WDJB-MJHTB", "WDJB-MJHA", "!", ""])
def test_a_wrong_code_names_the_alphabet(raw: str) -> None:
    assert refusal(raw) == [WRONG_LETTERS]


def test_an_invalid_code_reads_the_same_whatever_the_reason() -> None:
    assert PairingCodeInvalid().message == (
        "This pairing code is unknown, already used or expired. Ask the agent's owner "
        "for a new one."
    )


def test_an_issued_code_holds_what_it_was_given() -> None:
    code = _code()
    assert (code.id, code.agent_id, code.code_hash) == ("c1", "a1", "h")
    assert (code.status, code.created_at, code.used_at) == (PairingStatus.ACTIVE, s.NOW, None)


def test_redeeming_records_when() -> None:
    code = _code()
    code.redeem(s.NOW + timedelta(minutes=3))
    assert code.used_at == s.NOW + timedelta(minutes=3)


def test_revoking_marks_the_code_revoked_and_leaves_a_used_one_alone() -> None:
    code = _code()
    code.revoke()
    assert code.status is PairingStatus.REVOKED
    assert code.status_at(s.NOW) is PairingStatus.REVOKED
    used = _code()
    used.redeem(s.NOW)
    used.revoke()
    assert used.status is PairingStatus.USED
