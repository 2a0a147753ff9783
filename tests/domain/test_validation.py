"""The shared input checks: ids are recognised only in the spelling they are stored in."""

from __future__ import annotations

import uuid

from hypothesis import given
from hypothesis import strategies as st

from nodedc_gateway.domain import validation


@given(st.uuids())
def test_a_uuid_is_recognised_in_either_case(value: uuid.UUID) -> None:
    assert validation.is_uuid(str(value))
    assert validation.is_uuid(str(value).upper())
    assert validation.uuid_text(f" {str(value).upper()} ", "f") == str(value)


@given(st.uuids(), st.integers(min_value=1, max_value=34))
def test_other_spellings_of_a_uuid_are_not_one(value: uuid.UUID, at: int) -> None:
    plain = value.hex
    moved = "-".join((plain[:at], plain[at:]))  # one hyphen, anywhere
    shifted = f"{plain[:7]}-{plain[7:11]}-{plain[11:15]}-{plain[15:19]}-{plain[19:]}"
    for spelling in (plain, "{" + plain + "}", f"urn:uuid:{value}", moved, shifted):
        assert not validation.is_uuid(spelling), spelling


@given(st.text(max_size=40))
def test_whatever_is_recognised_parses_to_the_same_uuid(text: str) -> None:
    if validation.is_uuid(text):
        assert str(uuid.UUID(text)) == text.lower()
