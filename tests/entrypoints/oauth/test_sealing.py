"""The pending authorization request carried through the consent page: sealed, so it
cannot be altered, and with a deadline on the gateway's Clock."""

from __future__ import annotations

from datetime import timedelta

import pytest

from nodedc_gateway.adapters.clock import FixedClock
from nodedc_gateway.adapters.hashing import HmacSecretHasher
from nodedc_gateway.application.oauth import Pending
from nodedc_gateway.domain.secret import SecretStr
from nodedc_gateway.entrypoints.oauth.sealing import SEALED_TTL, SealBroken, Sealer
from tests.support import entities as e

PENDING = Pending(
    client_id="client",
    redirect_uri="http://127.0.0.1:9/callback",
    redirect_uri_explicit=True,
    code_challenge="E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
    state="s",
    resource="https://gateway.example/mcp",
    scopes=(),
)


def _sealer(
    clock: FixedClock, pepper: str = "pepper-for-tests-0123456789abcdefghijklmnop"
) -> Sealer:
    return Sealer(HmacSecretHasher(SecretStr(pepper), ()), clock)


def test_a_sealed_request_opens_to_itself_until_its_deadline() -> None:
    clock = FixedClock()
    sealer = _sealer(clock)
    sealed = sealer.seal(PENDING)
    assert sealer.open(sealed) == PENDING
    clock.advance(SEALED_TTL - timedelta(seconds=1))
    assert sealer.open(sealed) == PENDING
    clock.advance(timedelta(seconds=1))
    with pytest.raises(SealBroken):
        sealer.open(sealed)


@pytest.mark.parametrize("mangle", [lambda s: "x" + s, e.one_character_changed, lambda s: s[:10]])
def test_an_altered_request_does_not_open(mangle: object) -> None:
    sealer = _sealer(FixedClock())
    sealed = sealer.seal(PENDING)
    with pytest.raises(SealBroken):
        sealer.open(mangle(sealed))  # type: ignore[operator]


def test_another_pepper_or_junk_does_not_open() -> None:
    clock = FixedClock()
    sealed = _sealer(clock).seal(PENDING)
    with pytest.raises(SealBroken):
        _sealer(clock, "another-pepper-0123456789abcdefghijklmnopqr").open(sealed)
    for junk in (None, "", "no-dot", "a" * 9000, 42):
        with pytest.raises(SealBroken):
            _sealer(clock).open(junk)
