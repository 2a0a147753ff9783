"""`Turns`: one lock per key, the same every time it is asked for, from a fixed number."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nodedc_gateway.adapters.turns import Turns


@given(st.lists(st.text(), min_size=1, max_size=50))
def test_a_key_always_takes_its_turn_on_the_same_lock(keys: list[str]) -> None:
    turns = Turns(stripes=8)
    first = {key: turns.of(key) for key in keys}
    assert all(turns.of(key) is lock for key, lock in first.items())
    assert len({id(lock) for lock in first.values()}) <= 8


def test_at_least_one_stripe() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        Turns(stripes=0)
